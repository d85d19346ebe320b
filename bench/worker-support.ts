/**
 * Shared set-up of the worker benches: a fresh migrated database on TEST_DATABASE_URL or an
 * embedded PostgreSQL 18, with packages resolved from apps/worker (bench/ has no node_modules).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const workerRequire = createRequire(new URL('../apps/worker/package.json', import.meta.url));

function esmEntry(name: string): string {
  try {
    const manifestPath = workerRequire.resolve(`${name}/package.json`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const root = manifest.exports?.['.'];
    const entry =
      typeof root === 'string'
        ? root
        : (root?.import?.default ?? root?.import ?? root?.default ?? manifest.module ?? manifest.main);
    if (entry) return path.join(path.dirname(manifestPath), entry);
  } catch {
    // No ./package.json export: plain resolution.
  }
  return workerRequire.resolve(name);
}

export const importFromWorker = async <T>(name: string): Promise<T> =>
  (await import(pathToFileURL(esmEntry(name)).href)) as T;

type Pg = typeof import('pg');
export const pg: Pg = await importFromWorker<{ default?: Pg } & Pg>('pg').then((m) => (m.default ?? m) as Pg);

export interface BenchDatabase {
  adminUrl: string;
  workerUrl: string;
  serverVersion: string;
  organisations: string[];
  stop(): Promise<void>;
}

export async function prepareWorkerBenchDatabase(label: string, organisations = 10): Promise<BenchDatabase> {
  const dbSchema =
    await importFromWorker<typeof import('@prospectflow/db-schema')>('@prospectflow/db-schema');
  const testingEntry = path.resolve(
    path.dirname(new URL(import.meta.url).pathname),
    '../tooling/testing/src/index.ts',
  );
  const testing = (await import(pathToFileURL(testingEntry).href)) as typeof import('@prospectflow/testing');
  const server = await testing.startTestPostgres();
  const database = `pf_bench_${label}_${randomBytes(3).toString('hex')}`;
  const adminUrl = dbSchema.withDatabase(server.adminUrl, database);
  await dbSchema.setupDatabase(server.adminUrl, { database });
  await dbSchema.migrate(dbSchema.roleUrl(adminUrl, dbSchema.ROLES.migrator));
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const { rows } = await admin.query<{ id: string }>(
    `INSERT INTO iam.organisations (name, slug) SELECT 'Bench ' || n, 'bench-' || n FROM generate_series(1, $1::int) n RETURNING id`,
    [organisations],
  );
  await admin.end();
  return {
    adminUrl,
    workerUrl: dbSchema.roleUrl(adminUrl, dbSchema.ROLES.worker),
    serverVersion: server.serverVersion,
    organisations: rows.map((r) => r.id),
    async stop() {
      const cleanup = new pg.Client({ connectionString: server.adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await cleanup.end();
      await server.stop();
    },
  };
}
