import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { APP_SCHEMAS, readCatalog } from '../catalog.js';
import { migrate, migrationStatus, undoLastMigration } from '../migrations.js';
import { type Check, failIfAny } from './types.js';

const SCHEMAS = ['app', ...APP_SCHEMAS];

/** Everything a migration can change that we compare: tables (keys, indexes, RLS), functions, grants. */
export async function catalogSnapshot(client: pg.ClientBase): Promise<unknown> {
  const tables = await readCatalog(client);
  const { rows: functions } = await client.query(
    `SELECT p.oid::regprocedure::text AS signature, pg_get_functiondef(p.oid) AS definition,
            pg_get_userbyid(p.proowner) AS owner, p.proacl::text AS acl
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = ANY($1) ORDER BY 1`,
    [SCHEMAS],
  );
  const { rows: grants } = await client.query(
    `SELECT n.nspname || '.' || c.relname AS name, c.relkind, c.relacl::text AS acl
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) ORDER BY 1`,
    [SCHEMAS],
  );
  const { rows: schemas } = await client.query(
    `SELECT nspname, nspacl::text AS acl FROM pg_namespace WHERE nspname = ANY($1) ORDER BY 1`,
    [SCHEMAS],
  );
  return { tables, functions, grants, schemas };
}

function firstDifference(a: unknown, b: unknown, path = ''): string {
  if (isDeepStrictEqual(a, b)) return '';
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        `${path}/${key}`,
      );
      if (d) return d;
    }
  }
  return `${path}: ${JSON.stringify(a)?.slice(0, 300)} ≠ ${JSON.stringify(b)?.slice(0, 300)}`;
}

export const migrationChecks: Check[] = [
  {
    name: 'migrate-twice-is-noop',
    description: 'migrating an up-to-date database applies nothing and changes nothing',
    async run(ctx) {
      const status = await migrationStatus(ctx.migratorUrl, { migrationsDir: ctx.migrationsDir });
      if (status.pending.length > 0)
        return failIfAny([`${status.pending.length} migrations are pending; run db:migrate first`]);
      const client = new pg.Client({ connectionString: ctx.migratorUrl });
      await client.connect();
      try {
        await client.query('BEGIN');
        const before = await catalogSnapshot(client);
        const applied = await migrate(ctx.migratorUrl, { migrationsDir: ctx.migrationsDir, client });
        const after = await catalogSnapshot(client);
        await client.query('ROLLBACK');
        const problems = applied.map((m) => `migrate applied ${m.version} ${m.name} again`);
        const difference = firstDifference(before, after);
        if (difference) problems.push(`catalogue changed: ${difference}`);
        return failIfAny(problems);
      } finally {
        await client.end();
      }
    },
  },
  {
    name: 'undo-then-migrate-same-catalogue',
    description:
      'undoing the last migration and migrating again restores the same catalogue (in a rolled-back transaction)',
    async run(ctx) {
      const client = new pg.Client({ connectionString: ctx.migratorUrl });
      await client.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL lock_timeout = '5s'`);
        const before = await catalogSnapshot(client);
        const undone = await undoLastMigration(ctx.migratorUrl, { migrationsDir: ctx.migrationsDir, client });
        const middle = await catalogSnapshot(client);
        const redone = await migrate(ctx.migratorUrl, { migrationsDir: ctx.migrationsDir, client });
        const after = await catalogSnapshot(client);
        await client.query('ROLLBACK');
        const problems: string[] = [];
        if (undone.length !== 1 || redone.length !== 1)
          problems.push(`undid ${undone.length}, redid ${redone.length} migrations`);
        if (isDeepStrictEqual(before, middle)) problems.push(`undo of ${undone[0]?.name} changed nothing`);
        const difference = firstDifference(before, after);
        if (difference) problems.push(`catalogue differs after undo + migrate: ${difference}`);
        return failIfAny(problems) ?? `undid and re-applied ${undone[0]?.version} ${undone[0]?.name}`;
      } finally {
        await client.end();
      }
    },
  },
];
