/**
 * Raw pg: what the tenant costs a query, three ways, all measured in this run (target ≤ 1.1).
 * 1. Against a plain autocommit query as the superuser (no RLS, no transaction): `tenantQuery`
 *    (settings + statement in one round trip) and `withTenantClient` units.
 * 2. Against the same transaction without the tenant: BEGIN/query/COMMIT as node-postgres users
 *    write it (three round trips), and the same transaction pipelined like ours (BEGIN rides with
 *    the query), which isolates the tenant's own cost.
 * 3. Where the overhead goes, each step on ONE connection so backend placement cannot skew it: an
 *    extra trivial statement in the batch, the settings statement, then RLS (the same query on a
 *    copy of the table without RLS, as the app role with the settings sent).
 * Each side rotates over several connections in 1 and 2, for the same reason.
 */
import type { PoolClient } from 'pg';
import { compare, importPg, prepareBenchDatabase, printRatio } from './tenant-bench-support.js';

type TenantContext = typeof import('@prospectflow/tenant-context');

const pg = await importPg();
const { runWithTenant, tenantQuery, withTenantClient } = (await import(
  '@prospectflow/tenant-context'
)) as TenantContext;
// Internal, for the breakdown only: the same batching tenantQuery uses, with any prelude.
const { queryWithPrelude } = await import('@prospectflow/tenant-context');
const { settingsSql } = await import('@prospectflow/tenant-context');

const CONNECTIONS = 4;
const db = await prepareBenchDatabase();
const pools = (url: string) =>
  Array.from(
    { length: CONNECTIONS },
    () => new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000 }),
  );
const plainPools = pools(db.adminUrl);
const tenantPools = pools(db.appUrl);
const sql = 'SELECT id, name, domain FROM crm.companies WHERE organisation_id = $1 AND id = $2';
// A list page as the API serves it: 50 rows of one organisation, by name.
const listSql =
  'SELECT id, name, domain FROM crm.companies WHERE organisation_id = $1 ORDER BY name, id LIMIT 50';
const target = db.target;
const plainPool = (i: number) => plainPools[i % CONNECTIONS]!;
const tenantPool = (i: number) => tenantPools[i % CONNECTIONS]!;
const settings = (organisationId: string) => settingsSql({ organisationId, userId: '' });

async function inTransaction(client: PoolClient, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

try {
  const single = await compare({
    plain: (i) => {
      const { organisationId, id } = target(i);
      return plainPool(i).query(sql, [organisationId, id]);
    },
    plainTransaction: async (i) => {
      const { organisationId, id } = target(i);
      const client = await plainPool(i).connect();
      await inTransaction(client, async () => {
        await client.query('BEGIN');
        await client.query(sql, [organisationId, id]);
      });
    },
    plainPipelinedTransaction: async (i) => {
      const { organisationId, id } = target(i);
      const client = await plainPool(i).connect();
      await inTransaction(client, () =>
        queryWithPrelude(client, ['BEGIN'], { text: sql, values: [organisationId, id] }),
      );
    },
    oneShot: (i) => {
      const { organisationId, id } = target(i);
      return runWithTenant({ organisationId }, () => tenantQuery(tenantPool(i), sql, [organisationId, id]));
    },
    tenant: (i) => {
      const { organisationId, id } = target(i);
      return runWithTenant({ organisationId }, () =>
        withTenantClient(tenantPool(i), (c) => c.query(sql, [organisationId, id])),
      );
    },
  });
  const batch = await compare(
    {
      plain: async (i) => {
        const { organisationId } = target(i);
        const ids = db.companiesByOrganisation.get(organisationId)!;
        for (let k = 0; k < 10; k++)
          await plainPool(i).query(sql, [organisationId, ids[(i + k) % ids.length]]);
      },
      tenant: (i) => {
        const { organisationId } = target(i);
        const ids = db.companiesByOrganisation.get(organisationId)!;
        return runWithTenant({ organisationId }, () =>
          withTenantClient(tenantPool(i), async (c) => {
            for (let k = 0; k < 10; k++) await c.query(sql, [organisationId, ids[(i + k) % ids.length]]);
          }),
        );
      },
    },
    { samples: 400 },
  );
  const page = await compare({
    plain: (i) => plainPool(i).query(listSql, [target(i).organisationId]),
    oneShot: (i) => {
      const { organisationId } = target(i);
      return runWithTenant({ organisationId }, () => tenantQuery(tenantPool(i), listSql, [organisationId]));
    },
  });

  // The breakdown: one superuser connection and one app-role connection, held for the whole section.
  const admin = await plainPools[0]!.connect();
  await admin.query(`CREATE TABLE crm.bench_companies_no_rls (LIKE crm.companies INCLUDING ALL);
    INSERT INTO crm.bench_companies_no_rls SELECT * FROM crm.companies;
    GRANT SELECT ON crm.bench_companies_no_rls TO ${new URL(db.appUrl).username};
    ANALYZE crm.bench_companies_no_rls`);
  const app = await tenantPools[0]!.connect();
  const withPrelude =
    (client: PoolClient, prelude: (organisationId: string) => string[], table = 'crm.companies') =>
    (i: number) => {
      const { organisationId, id } = target(i);
      return queryWithPrelude(client, prelude(organisationId), {
        text: sql.replace('crm.companies', table),
        values: [organisationId, id],
      });
    };
  const steps = await compare({
    bare: withPrelude(admin, () => []),
    extraStatement: withPrelude(admin, () => ['SELECT 1']),
    settings: withPrelude(admin, (o) => [settings(o)]),
    appWithoutRls: withPrelude(app, (o) => [settings(o)], 'crm.bench_companies_no_rls'),
    appWithRls: withPrelude(app, (o) => [settings(o)]),
  });
  admin.release();
  app.release();

  const ms = (value: number) => `${(value * 1000).toFixed(0)} µs`;
  const share = (candidate: number, baseline: number) =>
    `${ms(candidate - baseline)} (${(((candidate - baseline) / steps.bare!) * 100).toFixed(0)}% of the bare query)`;
  console.log(`PostgreSQL ${db.serverVersion}; medians of interleaved single operations`);
  console.log('\n1. Against a plain autocommit query (superuser, no RLS, no transaction):');
  printRatio('1 query: tenantQuery (one round trip) vs plain query', single.oneShot!, single.plain!, 1.1);
  printRatio('list page of 50 rows: tenantQuery vs plain query', page.oneShot!, page.plain!, 1.1);
  printRatio(
    '1 query per unit of work (withTenantClient vs plain query)',
    single.tenant!,
    single.plain!,
    1.1,
  );
  printRatio('10 queries per unit of work (tenant tx vs 10 plain queries)', batch.tenant!, batch.plain!, 1.1);
  console.log('\n2. Against the same transaction without the tenant:');
  printRatio(
    '1 query per unit vs BEGIN/query/COMMIT as node-postgres runs it (3 round trips)',
    single.tenant!,
    single.plainTransaction!,
    1.1,
  );
  printRatio(
    '1 query per unit vs the same transaction pipelined like ours (2 round trips)',
    single.tenant!,
    single.plainPipelinedTransaction!,
    1.1,
  );
  console.log(`\n3. Where the overhead goes (one connection per role; bare query ${ms(steps.bare!)}):`);
  console.log(
    `   any extra statement in the batch (SELECT 1): +${share(steps.extraStatement!, steps.bare!)}`,
  );
  console.log(`   the settings statement instead:              +${share(steps.settings!, steps.bare!)}`);
  console.log(
    `   RLS on the table (app role, settings sent):  +${share(steps.appWithRls!, steps.appWithoutRls!)}`,
  );
} finally {
  for (const pool of [...plainPools, ...tenantPools]) await pool.end();
  await db.stop();
}
