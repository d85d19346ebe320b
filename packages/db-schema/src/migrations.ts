import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import Postgrator from 'postgrator';

/** History table written by postgrator (version, name, md5, run_at). */
export const SCHEMA_VERSION_TABLE = 'public.schema_version';
/** Serialises concurrent `migrate` runs against one database. */
const MIGRATION_LOCK = 727_276;

/** packages/db-schema/migrations, from src/ (tests, tsx) and from dist/ alike. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export interface MigrationOptions {
  /** Directory of `<version>.do.<name>.sql` / `<version>.undo.<name>.sql` files. */
  migrationsDir?: string;
  /** Run inside a transaction the caller opened on this client (savepoints instead of BEGIN/COMMIT). */
  client?: pg.ClientBase;
}

export interface AppliedMigration {
  version: number;
  name: string;
  action: 'do' | 'undo';
  filename: string;
}

export interface MigrationStatus {
  /** Highest applied version (0 when none). */
  currentVersion: number;
  latestVersion: number;
  applied: { version: number; name: string; md5: string; runAt: Date; file?: string; changed: boolean }[];
  pending: { version: number; name: string; file: string }[];
  /**
   * Files older than the current version that were never applied (e.g. merged from a branch).
   * postgrator would skip them silently; `migrate` refuses instead.
   */
  outOfOrder: { version: number; name: string; file: string }[];
}

/** Raised when an applied migration's file no longer matches the checksum recorded when it ran. */
export class MigrationChecksumError extends Error {
  readonly code = 'migration_checksum_mismatch';
  constructor(
    readonly version: number,
    readonly file: string,
  ) {
    super(
      `Migration ${path.basename(file)} (version ${version}) was changed after it was applied: ` +
        'applied migrations are immutable — restore the file and add a new migration instead.',
    );
  }
}

interface Session {
  client: pg.ClientBase;
  ownsTransaction: boolean;
}

/**
 * A postgrator instance whose every migration runs in its own transaction: postgrator calls
 * `execSqlScript(sql)` and then `execQuery(<history insert/delete>)`; we open the transaction
 * (or a savepoint inside the caller's) before the script and close it right after the history
 * row, so a migration and its history row commit or fail together.
 */
function createPostgrator(session: Session, migrationsDir: string): Postgrator {
  let open = false;
  let current: Postgrator.Migration | undefined;
  const begin = session.ownsTransaction ? 'BEGIN' : 'SAVEPOINT pf_migration';
  const commit = session.ownsTransaction ? 'COMMIT' : 'RELEASE SAVEPOINT pf_migration';
  const rollback = session.ownsTransaction ? 'ROLLBACK' : 'ROLLBACK TO SAVEPOINT pf_migration';
  const finish = async (error?: unknown) => {
    open = false;
    if (error) {
      await session.client.query(rollback).catch(() => {});
      throw error;
    }
    await session.client.query(commit);
  };
  const postgrator = new Postgrator({
    driver: 'pg',
    migrationPattern: path.join(migrationsDir, '*.sql'),
    schemaTable: SCHEMA_VERSION_TABLE,
    validateChecksums: true,
    newline: 'LF',
    execSqlScript: async (sql: string) => {
      await session.client.query(begin);
      open = true;
      try {
        await session.client.query(sql);
      } catch (error) {
        await finish(namedFailure(error, current));
      }
    },
    execQuery: async (query: string) => {
      if (!open) return await session.client.query(query);
      try {
        const result = await session.client.query(query);
        await finish();
        return result;
      } catch (error) {
        await finish(error);
        throw error;
      }
    },
  });
  postgrator.on('migration-started', (migration) => {
    current = migration;
  });
  return postgrator;
}

/** Prefixes a failing migration's error with its file, keeping the PostgreSQL fields (code…). */
function namedFailure(error: unknown, migration: Postgrator.Migration | undefined): unknown {
  if (migration && error instanceof Error) {
    error.message = `Migration ${path.basename(migration.filename)} failed and was rolled back: ${error.message}`;
  }
  return error;
}

async function withSession<T>(
  url: string,
  options: MigrationOptions,
  fn: (postgrator: Postgrator, session: Session) => Promise<T>,
): Promise<T> {
  const migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
  if (!fs.existsSync(migrationsDir)) throw new Error(`No migrations directory at ${migrationsDir}`);
  if (options.client) {
    const session = { client: options.client, ownsTransaction: false };
    return await fn(createPostgrator(session, migrationsDir), session);
  }
  const client = new pg.Client({ connectionString: url, application_name: 'prospectflow-migrate' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const session = { client, ownsTransaction: true };
    return await fn(createPostgrator(session, migrationsDir), session);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    await client.end();
  }
}

function describe(migrations: Postgrator.Migration[]): AppliedMigration[] {
  return migrations.map(({ version, name, action, filename }) => ({ version, name, action, filename }));
}

/** Turns postgrator's "MD5 checksum failed for migration [v]" into an error naming the file. */
async function explainChecksumFailure(postgrator: Postgrator, error: unknown): Promise<never> {
  const match = /MD5 checksum failed for migration \[(\d+)\]/.exec((error as Error).message ?? '');
  if (match) {
    const version = Number(match[1]);
    const file = (await postgrator.getMigrations()).find((m) => m.version === version && m.action === 'do');
    throw new MigrationChecksumError(version, file?.filename ?? `version ${version}`);
  }
  throw error;
}

/** Applies every pending migration, each in its own transaction. Returns what it applied. */
export async function migrate(url: string, options: MigrationOptions = {}): Promise<AppliedMigration[]> {
  return await withSession(url, options, async (postgrator, session) => {
    const skipped = await outOfOrderFiles(postgrator, session);
    if (skipped.length > 0) {
      throw new Error(
        `Migration ${skipped.map((m) => path.basename(m.filename)).join(', ')} is older than the database's current version ` +
          'and was never applied: give it a new timestamp (rename both do and undo files) so it runs after the others.',
      );
    }
    try {
      return describe(await postgrator.migrate('max'));
    } catch (error) {
      return await explainChecksumFailure(postgrator, error);
    }
  });
}

async function appliedVersions(session: Session): Promise<Set<number>> {
  const { rows: exists } = await session.client.query('SELECT to_regclass($1) AS t', [SCHEMA_VERSION_TABLE]);
  if (!exists[0]?.t) return new Set();
  const { rows } = await session.client.query<{ version: string }>(
    `SELECT version FROM ${SCHEMA_VERSION_TABLE}`,
  );
  return new Set(rows.map((r) => Number(r.version)));
}

async function outOfOrderFiles(postgrator: Postgrator, session: Session): Promise<Postgrator.Migration[]> {
  const applied = await appliedVersions(session);
  const current = Math.max(0, ...applied);
  return (await postgrator.getMigrations()).filter(
    (m) => m.action === 'do' && m.version < current && !applied.has(m.version),
  );
}

/** Runs the undo script of the most recently applied migration. Returns it, or [] when none. */
export async function undoLastMigration(
  url: string,
  options: MigrationOptions = {},
): Promise<AppliedMigration[]> {
  return await withSession(url, options, async (postgrator) => {
    const current = await postgrator.getDatabaseVersion();
    if (current === 0) return [];
    const migrations = await postgrator.getMigrations();
    const undo = migrations.find((m) => m.version === current && m.action === 'undo');
    if (!undo) throw new Error(`Migration version ${current} has no undo file (<version>.undo.<name>.sql)`);
    const previous = Math.max(
      0,
      ...migrations.filter((m) => m.action === 'do' && m.version < current).map((m) => m.version),
    );
    return describe(await postgrator.migrate(String(previous)));
  });
}

/** Applied and pending migrations, flagging applied files whose checksum changed. */
export async function migrationStatus(url: string, options: MigrationOptions = {}): Promise<MigrationStatus> {
  return await withSession(url, options, async (postgrator, session) => {
    const files = (await postgrator.getMigrations()).filter((m) => m.action === 'do');
    const { rows: exists } = await session.client.query('SELECT to_regclass($1) AS t', [
      SCHEMA_VERSION_TABLE,
    ]);
    const rows = exists[0]?.t
      ? (
          await session.client.query<{ version: string; name: string; md5: string; run_at: Date }>(
            `SELECT version, name, md5, run_at FROM ${SCHEMA_VERSION_TABLE} WHERE version > 0 ORDER BY version`,
          )
        ).rows
      : [];
    const applied = rows.map((row) => {
      const version = Number(row.version);
      const file = files.find((m) => m.version === version);
      return {
        version,
        name: row.name,
        md5: row.md5,
        runAt: row.run_at,
        file: file?.filename,
        changed: Boolean(file && row.md5 && file.md5 !== row.md5),
      };
    });
    const currentVersion = Math.max(0, ...applied.map((m) => m.version));
    return {
      currentVersion,
      latestVersion: Math.max(0, ...files.map((m) => m.version)),
      applied,
      pending: files
        .filter((m) => m.version > currentVersion)
        .map((m) => ({ version: m.version, name: m.name, file: m.filename })),
      outOfOrder: (await outOfOrderFiles(postgrator, session)).map((m) => ({
        version: m.version,
        name: m.name,
        file: m.filename,
      })),
    };
  });
}
