/** Bench helpers: a fresh migrated database (BENCH_DATABASE_URL/TEST_DATABASE_URL superuser, else embedded PG). */
import { randomUUID } from 'node:crypto';
import { migrate, ROLES, roleUrl, setupDatabase, withDatabase } from '@prospectflow/db-schema';
import { startTestPostgres } from '@prospectflow/testing';
import pg from 'pg';

export interface BenchDb {
  /** The database's name (its backends show it in their process titles). */
  name: string;
  adminUrl: string;
  appUrl: string;
  organisationId: string;
  stop(): Promise<void>;
}

export async function benchDatabase(): Promise<BenchDb> {
  const postgres = await startTestPostgres();
  const name = `pf_bench_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: postgres.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const adminUrl = withDatabase(postgres.adminUrl, name);
  await setupDatabase(postgres.adminUrl, { database: name });
  await migrate(roleUrl(adminUrl, ROLES.migrator));
  const organisationId = randomUUID();
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query('INSERT INTO iam.organisations (id, name, slug) VALUES ($1, $2, $3)', [
    organisationId,
    'Bench',
    `bench-${organisationId}`,
  ]);
  await client.end();
  return {
    name,
    adminUrl,
    appUrl: roleUrl(adminUrl, ROLES.app),
    organisationId,
    async stop() {
      const c = new pg.Client({ connectionString: postgres.adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
      await postgres.stop();
    },
  };
}
