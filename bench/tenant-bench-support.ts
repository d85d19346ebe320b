/**
 * Shared set-up for bench/tenant-*.ts: a migrated database with 50 organisations × 200 companies,
 * and a timing loop that interleaves the contenders operation by operation so machine noise hits all alike.
 * Run from the root: `pnpm --filter bench tenant-pg`.
 * PostgreSQL: TEST_DATABASE_URL (superuser) or an embedded PostgreSQL 18.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** node-postgres (kept async for the benches that await it). */
export async function importPg(): Promise<typeof pg> {
  return pg;
}
type DbSchema = typeof import('@prospectflow/db-schema');
type Testing = typeof import('@prospectflow/testing');

export interface BenchDatabase {
  adminUrl: string;
  appUrl: string;
  organisations: string[];
  companiesByOrganisation: Map<string, string[]>;
  serverVersion: string;
  /** The i-th company looked up by the benches: organisations in turn, spread over their companies. */
  target(i: number): { organisationId: string; id: string };
  stop(): Promise<void>;
}

export async function prepareBenchDatabase(): Promise<BenchDatabase> {
  const pg = await importPg();
  const dbSchema = (await import('@prospectflow/db-schema')) as unknown as DbSchema;
  const testing = (await import('@prospectflow/testing')) as unknown as Testing;
  const server = await testing.startTestPostgres();
  const database = `pf_bench_tenant_${randomBytes(3).toString('hex')}`;
  const adminUrl = dbSchema.withDatabase(server.adminUrl, database);
  await dbSchema.setupDatabase(server.adminUrl, { database });
  await dbSchema.migrate(dbSchema.roleUrl(adminUrl, dbSchema.ROLES.migrator));
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const { rows: orgRows } = await admin.query<{ id: string }>(
    `INSERT INTO iam.organisations (name, slug) SELECT 'Bench ' || n, 'bench-' || n FROM generate_series(1, 50) n RETURNING id`,
  );
  await admin.query(
    `INSERT INTO crm.companies (organisation_id, name)
     SELECT o.id, 'Company ' || n FROM iam.organisations o, generate_series(1, 200) n`,
  );
  await admin.query('ANALYZE');
  const { rows: companyRows } = await admin.query<{ organisation_id: string; id: string }>(
    'SELECT organisation_id, id FROM crm.companies',
  );
  await admin.end();
  const companiesByOrganisation = new Map<string, string[]>();
  for (const row of companyRows) {
    const list = companiesByOrganisation.get(row.organisation_id) ?? [];
    list.push(row.id);
    companiesByOrganisation.set(row.organisation_id, list);
  }
  const organisations = orgRows.map((r) => r.id);
  return {
    adminUrl,
    appUrl: dbSchema.roleUrl(adminUrl, dbSchema.ROLES.app),
    organisations,
    companiesByOrganisation,
    serverVersion: server.serverVersion,
    target(i) {
      const organisationId = organisations[i % organisations.length]!;
      const ids = companiesByOrganisation.get(organisationId)!;
      return { organisationId, id: ids[(i * 7) % ids.length]! };
    },
    async stop() {
      const cleanup = new pg.Client({ connectionString: server.adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await cleanup.end();
      await server.stop();
    },
  };
}

export type Contender = (iteration: number) => Promise<unknown>;

/**
 * Times every contender one operation at a time, interleaved (the order rotates each iteration),
 * so machine drift hits all contenders alike; returns each contender's median operation time in ms.
 * One warm-up pass of `warmup` operations each is discarded.
 */
export async function compare(
  contenders: Record<string, Contender>,
  { samples = 3000, warmup = 200 } = {},
): Promise<Record<string, number>> {
  const names = Object.keys(contenders);
  const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let i = 0; i < warmup; i++) for (const name of names) await contenders[name]!(i);
  for (let i = 0; i < samples; i++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length]!;
      const started = performance.now();
      await contenders[name]!(i);
      times[name]!.push(performance.now() - started);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  return Object.fromEntries(names.map((name) => [name, median(times[name]!)]));
}

export function printRatio(label: string, candidate: number, baseline: number, target: number): void {
  const ratio = candidate / baseline;
  const verdict = ratio <= target ? 'within' : 'ABOVE';
  console.log(
    `${label}: ${candidate.toFixed(3)} ms vs ${baseline.toFixed(3)} ms → ratio ${ratio.toFixed(2)} (${verdict} target ≤ ${target})`,
  );
}
