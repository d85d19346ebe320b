/**
 * Raw pg: the same primary-key SELECT as the superuser's plain pool.query (no RLS, no transaction)
 * vs the tenant paths — `tenantQuery` (settings + statement in one round trip, one implicit
 * transaction) and `withTenantClient` units (BEGIN + settings ride with the first statement, then
 * COMMIT) — and vs the same BEGIN/query/COMMIT without RLS. Target ≤ 1.1. Prints per-operation
 * medians and ratios, all measured in this run.
 */
import { compare, importFromPackage, prepareBenchDatabase, printRatio } from './tenant-bench-support.js';

type Pg = typeof import('pg');
type TenantContext = typeof import('@prospectflow/tenant-context');

const pgModule = await importFromPackage<{ default?: Pg } & Pg>('pg');
const pg = (pgModule.default ?? pgModule) as Pg;
const { runWithTenant, tenantQuery, withTenantClient } = (await import(
  '../packages/tenant-context/src/index.js'
)) as TenantContext;

const db = await prepareBenchDatabase();
const plainPool = new pg.Pool({ connectionString: db.adminUrl, max: 1 });
const tenantPool = new pg.Pool({ connectionString: db.appUrl, max: 1, connectionTimeoutMillis: 10_000 });
const sql = 'SELECT id, name, domain FROM crm.companies WHERE organisation_id = $1 AND id = $2';
// A list page as the API serves it: 50 rows of one organisation, by name.
const listSql =
  'SELECT id, name, domain FROM crm.companies WHERE organisation_id = $1 ORDER BY name, id LIMIT 50';
const target = (i: number) => {
  const organisationId = db.organisations[i % db.organisations.length]!;
  const ids = db.companiesByOrganisation.get(organisationId)!;
  return { organisationId, id: ids[(i * 7) % ids.length]! };
};

try {
  const single = await compare({
    plain: (i) => {
      const { organisationId, id } = target(i);
      return plainPool.query(sql, [organisationId, id]);
    },
    plainTransaction: async (i) => {
      const { organisationId, id } = target(i);
      const client = await plainPool.connect();
      try {
        await client.query('BEGIN');
        await client.query(sql, [organisationId, id]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    },
    oneShot: (i) => {
      const { organisationId, id } = target(i);
      return runWithTenant({ organisationId }, () => tenantQuery(tenantPool, sql, [organisationId, id]));
    },
    tenant: (i) => {
      const { organisationId, id } = target(i);
      return runWithTenant({ organisationId }, () =>
        withTenantClient(tenantPool, (c) => c.query(sql, [organisationId, id])),
      );
    },
  });
  const batch = await compare(
    {
      plain: async (i) => {
        const { organisationId } = target(i);
        const ids = db.companiesByOrganisation.get(organisationId)!;
        for (let k = 0; k < 10; k++) await plainPool.query(sql, [organisationId, ids[(i + k) % ids.length]]);
      },
      tenant: (i) => {
        const { organisationId } = target(i);
        const ids = db.companiesByOrganisation.get(organisationId)!;
        return runWithTenant({ organisationId }, () =>
          withTenantClient(tenantPool, async (c) => {
            for (let k = 0; k < 10; k++) await c.query(sql, [organisationId, ids[(i + k) % ids.length]]);
          }),
        );
      },
    },
    { iterations: 60 },
  );
  const page = await compare({
    plain: (i) => plainPool.query(listSql, [target(i).organisationId]),
    oneShot: (i) => {
      const { organisationId } = target(i);
      return runWithTenant({ organisationId }, () => tenantQuery(tenantPool, listSql, [organisationId]));
    },
  });
  console.log(`PostgreSQL ${db.serverVersion}, one connection each, medians of 7 rounds`);
  printRatio('1 query: tenantQuery (one round trip) vs plain query', single.oneShot!, single.plain!, 1.1);
  printRatio('list page of 50 rows: tenantQuery vs plain query', page.oneShot!, page.plain!, 1.1);
  printRatio(
    '1 query per unit of work (withTenantClient vs plain query)',
    single.tenant!,
    single.plain!,
    1.1,
  );
  printRatio('10 queries per unit of work (tenant tx vs 10 plain queries)', batch.tenant!, batch.plain!, 1.1);
  printRatio(
    '1 query, tenant tx vs the same BEGIN/query/COMMIT without RLS',
    single.tenant!,
    single.plainTransaction!,
    1.1,
  );
} finally {
  await plainPool.end();
  await tenantPool.end();
  await db.stop();
}
