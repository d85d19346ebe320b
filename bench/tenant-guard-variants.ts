/**
 * What RLS costs with our guard `app.current_organisation_id()` and with the alternatives one might
 * try, each policy on its own copy of crm.companies, all on ONE app-role connection with the tenant
 * settings sent; the baseline is a copy without RLS. Two shapes: a primary-key lookup (interleaved
 * single operations: the guard runs once per scan, planning counts) and a 100,000-row INSERT …
 * SELECT (median of 5 rounds, rolled back: WITH CHECK runs the guard once per row).
 * Run: pnpm --filter bench tenant-guard-variants
 */
import { compare, importPg, prepareBenchDatabase } from './tenant-bench-support.js';

const pg = await importPg();
const { queryWithPrelude } = await import('@prospectflow/tenant-context');
const { settingsSql } = await import('@prospectflow/tenant-context');

const VARIANTS: Record<string, string | undefined> = {
  withoutRls: undefined,
  // Since migration 0740: schema-qualified names, no per-call search_path switch, no exception block.
  currentGuard: 'app.current_organisation_id()',
  // The guard before 0740: `SET search_path = pg_catalog`, and an exception block for PF002.
  pinnedGuard: 'bench.guard_pinned()',
  // The exception block alone (a subtransaction per call).
  exceptionBlock: 'bench.guard_exception_block()',
  // Inlinable SQL functions (no SET clause): the planner sees the expression; PF001 kept.
  inlinableSql: 'bench.guard_sql()',
  inlinableCoalesce: 'bench.guard_coalesce()',
  // No function: the missing/empty setting fails as a cast or "unrecognized parameter", not PF001.
  noFunction: "current_setting('app.organisation_id')::uuid",
};

// The guard body before migration 0740 (its exception block re-raised a malformed value as PF002).
const PRE_0740_GUARD_BODY = `$$
    DECLARE raw text := current_setting('app.organisation_id', true);
    BEGIN
      IF raw IS NULL OR raw = '' THEN RAISE EXCEPTION 'no organisation' USING ERRCODE = 'PF001'; END IF;
      BEGIN
        RETURN raw::uuid;
      EXCEPTION WHEN invalid_text_representation THEN
        RAISE EXCEPTION 'not a uuid' USING ERRCODE = 'PF002';
      END;
    END $$`;

const db = await prepareBenchDatabase();
const admin = new pg.Client({ connectionString: db.adminUrl });
await admin.connect();
const appRole = new URL(db.appUrl).username;
await admin.query(`
  CREATE SCHEMA bench;
  CREATE FUNCTION bench.guard_exception_block() RETURNS uuid LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS ${PRE_0740_GUARD_BODY};
  CREATE FUNCTION bench.guard_pinned() RETURNS uuid LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog AS ${PRE_0740_GUARD_BODY};
  CREATE FUNCTION bench.missing() RETURNS uuid LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
    BEGIN RAISE EXCEPTION 'no organisation' USING ERRCODE = 'PF001'; END $$;
  CREATE FUNCTION bench.guard_coalesce() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT COALESCE(NULLIF(pg_catalog.current_setting('app.organisation_id', true), ''), bench.missing()::text)::pg_catalog.uuid $$;
  CREATE FUNCTION bench.guard_sql() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN NULLIF(current_setting('app.organisation_id', true), '') IS NULL THEN bench.missing()
                ELSE current_setting('app.organisation_id', true)::uuid END $$;
  GRANT USAGE ON SCHEMA bench TO ${appRole};
  GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA bench TO ${appRole}`);
for (const [name, guard] of Object.entries(VARIANTS)) {
  await admin.query(`CREATE TABLE bench.${name} (LIKE crm.companies INCLUDING ALL);
    INSERT INTO bench.${name} SELECT * FROM crm.companies;
    GRANT SELECT, INSERT ON bench.${name} TO ${appRole};
    ANALYZE bench.${name}`);
  if (guard)
    await admin.query(`ALTER TABLE bench.${name} ENABLE ROW LEVEL SECURITY;
      ALTER TABLE bench.${name} FORCE ROW LEVEL SECURITY;
      CREATE POLICY tenant_isolation ON bench.${name} USING (organisation_id = ${guard})`);
}
await admin.end();

const app = new pg.Client({ connectionString: db.appUrl });
await app.connect();
try {
  const target = db.target;
  const lookup = (table: string) => (i: number) => {
    const { organisationId, id } = target(i);
    return queryWithPrelude(app, [settingsSql({ organisationId, userId: '' })], {
      text: `SELECT id, name, domain FROM bench.${table} WHERE organisation_id = $1 AND id = $2`,
      values: [organisationId, id],
    });
  };
  const times = await compare(Object.fromEntries(Object.keys(VARIANTS).map((name) => [name, lookup(name)])));
  const inserts: Record<string, number[]> = Object.fromEntries(
    Object.keys(VARIANTS).map((name) => [name, []]),
  );
  const organisationId = db.organisations[0]!;
  for (let round = 0; round < 5; round++) {
    for (const name of Object.keys(VARIANTS)) {
      await app.query('BEGIN');
      await app.query(settingsSql({ organisationId, userId: '' }));
      const started = performance.now();
      await app.query(
        `INSERT INTO bench.${name} (organisation_id, name) SELECT $1, 'Bulk ' || n FROM generate_series(1, 100000) n`,
        [organisationId],
      );
      inserts[name]!.push(performance.now() - started);
      await app.query('ROLLBACK');
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  const lookupBase = times.withoutRls!;
  const insertBase = median(inserts.withoutRls!);
  const added = (value: number, base: number) => `+${((value / base - 1) * 100).toFixed(1)}%`.padStart(7);
  console.log(
    `PostgreSQL ${db.serverVersion}; without RLS: PK lookup ${(lookupBase * 1000).toFixed(0)} µs, ` +
      `100k-row INSERT ${insertBase.toFixed(0)} ms. Added by each policy:`,
  );
  for (const name of Object.keys(VARIANTS).slice(1)) {
    const insert = median(inserts[name]!);
    console.log(
      `${name.padEnd(18)} lookup ${added(times[name]!, lookupBase)}   insert ${added(insert, insertBase)}` +
        ` (${(((insert - insertBase) * 1000) / 100_000).toFixed(1)} µs per row)`,
    );
  }
} finally {
  await app.end();
  await db.stop();
}
