/**
 * RLS cost on the tenant-scoped list query, 1,000 organisations.
 *
 *   pnpm --filter bench rls                # 200k positions (about a minute)
 *   pnpm --filter bench rls --full     # 1M positions (a few minutes)
 *
 * Uses BENCH_DATABASE_URL or TEST_DATABASE_URL (superuser), else an embedded PostgreSQL 18.
 * Compares, in the same run and on the same data, the indexed list query
 *   as prospectflow_app under RLS (policy only, and policy + explicit organisation filter)
 *   vs as prospectflow_backup (BYPASSRLS) with the explicit filter — the baseline.
 * Each call is one transaction with set_config, for every variant. Prints medians, p95, ratios
 * (target ≤ 1.1) and the EXPLAIN showing organisation_id as an Index Cond.
 */
import { randomBytes } from 'node:crypto';
import { migrate, ROLES, roleUrl, setupDatabase, withDatabase } from '@prospectflow/db-schema';
import { startTestPostgres } from '@prospectflow/testing/postgres';
import pg from 'pg';

const full = process.argv.includes('--full');
const ORGS = 1000;
const POSITIONS = full ? 1_000_000 : 200_000;
const PER_ORG = POSITIONS / ORGS;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);

const LIST_RLS_ONLY = `SELECT id, title, email, status, created_at FROM crm.positions ORDER BY created_at DESC, id LIMIT 50`;
const LIST_EXPLICIT = `SELECT id, title, email, status, created_at FROM crm.positions WHERE organisation_id = $1 ORDER BY created_at DESC, id LIMIT 50`;

async function seed(adminDbUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: adminDbUrl });
  await client.connect();
  try {
    const started = performance.now();
    // Superuser seeding: RLS does not apply; FK triggers are skipped (the data is consistent by construction).
    await client.query(`SET session_replication_role = replica`);
    await client.query(
      `INSERT INTO iam.organisations (id, name, slug)
       SELECT md5('org' || o)::uuid, 'Bench org ' || o, 'bench-' || o FROM generate_series(1, $1) o`,
      [ORGS],
    );
    await client.query(
      `INSERT INTO crm.companies (organisation_id, id, name)
       SELECT md5('org' || o)::uuid, md5('co' || o || '-' || c)::uuid, 'Company ' || c
         FROM generate_series(1, $1) o, generate_series(1, 10) c`,
      [ORGS],
    );
    await client.query(
      `INSERT INTO crm.people (organisation_id, id, first_name, last_name)
       SELECT md5('org' || o)::uuid, md5('pe' || o || '-' || p)::uuid, 'First' || p, 'Last' || p
         FROM generate_series(1, $1) o, generate_series(1, 100) p`,
      [ORGS],
    );
    await client.query(
      `INSERT INTO crm.positions (organisation_id, id, person_id, company_id, title, email, status, created_at)
       SELECT md5('org' || o)::uuid, md5('po' || o || '-' || i)::uuid,
              md5('pe' || o || '-' || (i % 100 + 1))::uuid, md5('co' || o || '-' || (i % 10 + 1))::uuid,
              'Title ' || i, 'p' || i || '@org' || o || '.example', 'active',
              timestamptz '2026-01-01' + make_interval(mins => i)
         FROM generate_series(1, $1) o, generate_series(1, $2) i`,
      [ORGS, PER_ORG],
    );
    await client.query(`SET session_replication_role = origin`);
    await client.query('VACUUM ANALYZE crm.positions, crm.people, crm.companies, iam.organisations');
    console.log(
      `seeded ${ORGS} organisations, ${POSITIONS.toLocaleString()} positions in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const { rows } = await client.query<{ id: string }>('SELECT id FROM iam.organisations ORDER BY id');
    return rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}

type Variant = { label: string; url: string; sql: string; explicit: boolean };

/** One list call: a transaction that sets the tenant and reads a 50-row page. */
async function call(client: pg.Client, variant: Variant, org: string): Promise<number> {
  const started = performance.now();
  await client.query('BEGIN');
  await client.query(`SELECT set_config('app.organisation_id', $1, true)`, [org]);
  const { rowCount } = await client.query(variant.sql, variant.explicit ? [org] : []);
  await client.query('COMMIT');
  if (rowCount !== 50) throw new Error(`${variant.label}: expected 50 rows, got ${rowCount}`);
  return performance.now() - started;
}

/**
 * Paired measurement: every iteration runs each variant once (rotating the order) on its own
 * connection, so machine noise hits all variants alike.
 */
async function measure(variants: Variant[], orgs: string[], iterations: number): Promise<number[][]> {
  const clients = await Promise.all(
    variants.map(async (v) => {
      const client = new pg.Client({ connectionString: v.url });
      await client.connect();
      return client;
    }),
  );
  const samples: number[][] = variants.map(() => []);
  try {
    for (let i = 0; i < iterations; i++) {
      const org = orgs[(i * 7919) % orgs.length]!;
      for (let k = 0; k < variants.length; k++) {
        const j = (i + k) % variants.length;
        samples[j]!.push(await call(clients[j]!, variants[j]!, org));
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  return samples;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function explain(url: string, org: string, sql: string, explicit: boolean): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.organisation_id', $1, true)`, [org]);
    const { rows } = await client.query(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) ${sql}`,
      explicit ? [org] : [],
    );
    await client.query('ROLLBACK');
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const explicitUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  const server = explicitUrl ? undefined : await startTestPostgres();
  const adminUrl = explicitUrl ?? server!.adminUrl;
  const database = `pf_bench_rls_${randomBytes(3).toString('hex')}`;
  const adminDbUrl = withDatabase(adminUrl, database);
  try {
    await setupDatabase(adminUrl, { database });
    await migrate(roleUrl(adminDbUrl, ROLES.migrator));
    const orgs = await seed(adminDbUrl);
    const app = roleUrl(adminDbUrl, ROLES.app);
    const backup = roleUrl(adminDbUrl, ROLES.backup);
    const variants: Variant[] = [
      { label: 'baseline: BYPASSRLS + explicit filter', url: backup, sql: LIST_EXPLICIT, explicit: true },
      { label: 'prospectflow_app, RLS policy only', url: app, sql: LIST_RLS_ONLY, explicit: false },
      { label: 'prospectflow_app, RLS + explicit filter', url: app, sql: LIST_EXPLICIT, explicit: true },
    ];
    await measure(variants, orgs, 300); // warm-up: caches, catalogue, plans of the guard function
    const samples = await measure(variants, orgs, ITERATIONS);
    const base = percentile(samples[0]!, 50);
    console.log(
      `\n${ITERATIONS} list calls per variant (BEGIN + set_config + 50-row page + COMMIT), server ${server?.serverVersion ?? 'external'}`,
    );
    for (const [i, v] of variants.entries()) {
      const s = samples[i]!;
      const median = percentile(s, 50);
      console.log(
        `${v.label.padEnd(42)} median ${median.toFixed(3)} ms  p95 ${percentile(s, 95).toFixed(3)} ms  ratio ${(median / base).toFixed(3)}`,
      );
    }
    const plan = await explain(app, orgs[0]!, LIST_RLS_ONLY, false);
    console.log(`\nEXPLAIN as prospectflow_app, policy only:\n${plan}`);
    const indexCond = /Index Cond: \(organisation_id = /.test(plan);
    console.log(`\norganisation_id is an Index Cond: ${indexCond ? 'yes' : 'NO'}`);
    if (!indexCond) process.exitCode = 1;
  } finally {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => {});
    await client.end();
    await server?.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
