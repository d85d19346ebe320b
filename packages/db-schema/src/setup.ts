import { urlPasswordProblem } from '@prospectflow/config';
import type pg from 'pg';
import { withClient } from './client.js';
import { LOGIN_ROLES, ROLES, type RoleName, rolePassword } from './roles.js';
import { databaseOf, ident, literal, withDatabase } from './urls.js';

export interface SetupOptions {
  /** Database to create (owned by the migrator) if missing; defaults to the admin URL's database. */
  database?: string;
  env?: NodeJS.ProcessEnv;
}

export interface SetupResult {
  database: string;
  createdRoles: RoleName[];
  createdDatabase: boolean;
}

/** Attributes each role gets on every run, so a drifted role is put back. */
const ROLE_ATTRIBUTES: Record<RoleName, string> = {
  prospectflow_migrator: 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT',
  prospectflow_app: 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT',
  prospectflow_worker: 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT',
  prospectflow_backup: 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS NOINHERIT',
  prospectflow_system: 'NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS NOINHERIT',
};

const RUNTIME_ROLES = [ROLES.app, ROLES.worker] as const;
const EXTENSIONS = ['pgcrypto', 'citext'] as const;
/** Serialises concurrent setups (parallel test runs share roles, which are cluster-wide). */
const SETUP_LOCK = 727_275;

/** Errors two concurrent setups can race into; the loser retries. */
const RACE_CODES = new Set(['42710', '23505', '42P04', 'XX000', '40001', '40P01']);

async function retryRaces<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 5 || !code || !RACE_CODES.has(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

async function ensureRoles(client: pg.Client, env: NodeJS.ProcessEnv): Promise<RoleName[]> {
  const created: RoleName[] = [];
  for (const role of Object.values(ROLES)) {
    const login = (LOGIN_ROLES as readonly string[]).includes(role);
    const password = login
      ? `PASSWORD ${literal(rolePassword(role as (typeof LOGIN_ROLES)[number], env))}`
      : '';
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (rowCount === 0) {
      await client.query(`CREATE ROLE ${ident(role)} ${ROLE_ATTRIBUTES[role]} ${password}`);
      created.push(role);
    } else {
      await client.query(`ALTER ROLE ${ident(role)} ${ROLE_ATTRIBUTES[role]} ${password}`);
    }
  }
  // The migrator hands SECURITY DEFINER functions to the system role, which needs membership.
  await client.query(`GRANT ${ident(ROLES.system)} TO ${ident(ROLES.migrator)}`);
  // Runtime roles never get another role's powers through membership.
  for (const role of [...RUNTIME_ROLES, ROLES.backup, ROLES.system]) {
    const { rows } = await client.query<{ granted: string }>(
      `SELECT g.rolname AS granted FROM pg_auth_members m
         JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid
        WHERE r.rolname = $1`,
      [role],
    );
    for (const { granted } of rows) await client.query(`REVOKE ${ident(granted)} FROM ${ident(role)}`);
  }
  return created;
}

async function ensureDatabase(client: pg.Client, database: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (rowCount === 0) {
    await client.query(`CREATE DATABASE ${ident(database)} OWNER ${ident(ROLES.migrator)} ENCODING 'UTF8'`);
  } else {
    // An existing database (e.g. a test template made by the superuser) is handed to the migrator.
    await client.query(`ALTER DATABASE ${ident(database)} OWNER TO ${ident(ROLES.migrator)}`);
  }
  const db = ident(database);
  await client.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
  await client.query(`GRANT ALL ON DATABASE ${db} TO ${ident(ROLES.migrator)}`);
  for (const role of [...RUNTIME_ROLES, ROLES.backup]) {
    await client.query(`REVOKE ALL ON DATABASE ${db} FROM ${ident(role)}`);
    await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${ident(role)}`);
  }
  return rowCount === 0;
}

/** Inside the target database, as superuser: extensions and default privileges. */
async function prepareInsideDatabase(client: pg.Client): Promise<void> {
  for (const extension of EXTENSIONS) {
    await client.query(`CREATE EXTENSION IF NOT EXISTS ${ident(extension)}`);
  }
  const migrator = ident(ROLES.migrator);
  const backup = ident(ROLES.backup);
  // Nobody but the migrator creates objects in public (PG 15 already does this; PG < 15 did not).
  await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  await client.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${migrator}`);
  // The backup role reads everything the migrator will create; runtime grants are explicit in
  // the migrations (DML on tenant tables only), so no default DML is granted here.
  await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${migrator} GRANT USAGE ON SCHEMAS TO ${backup}`);
  await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${migrator} GRANT SELECT ON TABLES TO ${backup}`);
  await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${migrator} GRANT SELECT ON SEQUENCES TO ${backup}`);
  for (const role of [...RUNTIME_ROLES, ROLES.system]) {
    await client.query(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${migrator} REVOKE TRUNCATE, REFERENCES, TRIGGER ON TABLES FROM ${ident(role)}`,
    );
  }
}

/**
 * Idempotently creates the four roles (passwords from env), the database owned by the migrator,
 * the extensions and the grants. Run with a superuser URL before `migrate`.
 */
export async function setupDatabase(adminUrl: string, options: SetupOptions = {}): Promise<SetupResult> {
  const env = options.env ?? process.env;
  const database = options.database ?? databaseOf(adminUrl);
  // Validate passwords (production refuses defaults, short and published ones) before touching
  // anything, and report every one at once.
  const problems: string[] = [];
  if (env.NODE_ENV === 'production') {
    const problem = urlPasswordProblem('DATABASE_ADMIN_URL', adminUrl);
    if (problem) problems.push(problem);
  }
  for (const role of LOGIN_ROLES) {
    try {
      rolePassword(role, env);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const { createdRoles, createdDatabase } = await withClient(adminUrl, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [SETUP_LOCK]);
    try {
      const createdRoles = await retryRaces(() => ensureRoles(client, env));
      const createdDatabase = await retryRaces(() => ensureDatabase(client, database));
      return { createdRoles, createdDatabase };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [SETUP_LOCK]).catch(() => {});
    }
  });
  await withClient(withDatabase(adminUrl, database), (client) =>
    retryRaces(async () => {
      await client.query('SELECT pg_advisory_lock($1)', [SETUP_LOCK]);
      try {
        await prepareInsideDatabase(client);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [SETUP_LOCK]).catch(() => {});
      }
    }),
  );
  return { database, createdRoles, createdDatabase };
}
