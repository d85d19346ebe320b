import { randomUUID } from 'node:crypto';
import { roleUrl } from '@prospectflow/db-schema';
import type { TenantContext as Tenant } from '@prospectflow/tenant-context';
import { runWithTenant, tenantQuery } from '@prospectflow/tenant-context';
import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';

export interface LegacyDb {
  db: TestDatabase;
  admin: pg.Pool;
  /** prospectflow_app: the role the CLI runs as in production. */
  pool: pg.Pool;
  appUrl: string;
  close(): Promise<void>;
  newOrganisation(): Promise<Tenant>;
  count(tenant: Tenant, table: string): Promise<number>;
  query<R extends pg.QueryResultRow>(tenant: Tenant, sql: string, values?: unknown[]): Promise<R[]>;
}

/** A migrated database of its own for one test file, with an app-role pool. */
export async function setupLegacyDb(label: string): Promise<LegacyDb> {
  const db = await createTestDatabase(label);
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  const appUrl = roleUrl(db.adminUrl, 'app');
  const pool = new pg.Pool({ connectionString: appUrl, max: 6 });
  const query = async <R extends pg.QueryResultRow>(t: Tenant, sql: string, values: unknown[] = []) =>
    (await runWithTenant(t, () => tenantQuery<R>(pool, sql, values))).rows;
  return {
    db,
    admin,
    pool,
    appUrl,
    query,
    async newOrganisation() {
      const id = randomUUID();
      await admin.query('INSERT INTO iam.organisations (id, name, slug) VALUES ($1, $2, $3)', [
        id,
        `Org ${id}`,
        `org-${id}`,
      ]);
      return { organisationId: id };
    },
    async count(t, table) {
      const rows = await query<{ n: number }>(t, `SELECT count(*)::int AS n FROM ${table}`);
      return rows[0]!.n;
    },
    async close() {
      await pool.end();
      await admin.end();
      await db.drop();
    },
  };
}
