import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGuardedScript } from '@prospectflow/testing/setup';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSqlite } from '../src/run.js';
import { setupLegacyDb } from './helpers.js';

let ctx: Awaited<ReturnType<typeof setupLegacyDb>>;
const dir = mkdtempSync(join(tmpdir(), 'pf-sqlite-test-'));
const COMPANY_ID = '6f1c7a52-1b9e-4c55-9f0a-3d1f9a8e2b10';

/** The legacy prospects database: TEXT uuids, JSON text, epoch and ISO dates, 0/1 flags. */
function prospectsDb(): string {
  const file = join(dir, `prospects-${Math.random().toString(16).slice(2)}.db`);
  const db = new Database(file);
  db.exec(`
    CREATE TABLE companies (id TEXT PRIMARY KEY, name TEXT, siren TEXT, website TEXT, metadata TEXT, created_at INTEGER);
    CREATE TABLE contacts (id INTEGER PRIMARY KEY, company_id TEXT, first_name TEXT, last_name TEXT, email TEXT,
                           title TEXT, is_active INTEGER, created_at TEXT);
    CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
  `);
  const company = db.prepare('INSERT INTO companies VALUES (?, ?, ?, ?, ?, ?)');
  company.run(COMPANY_ID, 'Acme SAS', '123456782', 'acme.fr', '{"tier": "gold"}', 1_700_000_000);
  company.run('c-2', 'Globex', null, 'https://www.globex.com/fr', null, 1_700_000_000_000);
  company.run('c-3', '', null, null, null, null); // no name → skipped
  company.run('c-4', 'Broken JSON', null, null, '{oops', null);
  const contact = db.prepare('INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  contact.run(1, COMPANY_ID, 'Ada', 'Martin', 'Ada@Acme.fr', 'CEO', 1, '2024-05-01 10:00:00');
  contact.run(2, 'c-2', 'Bob', null, 'bob@globex.com', 'CTO', 0, '2024-05-02T08:00:00Z');
  contact.run(3, 'c-404', 'Nobody', null, 'n@x.fr', null, 1, null); // unknown company → skipped
  contact.run(4, COMPANY_ID, 'Eve', null, 'not-an-email', null, 1, null); // → skipped
  db.close();
  return file;
}

function promptsDb(): string {
  const file = join(dir, `prompts-${Math.random().toString(16).slice(2)}.db`);
  const db = new Database(file);
  db.exec(`
    CREATE TABLE prompts (id TEXT PRIMARY KEY, name TEXT, template TEXT, category TEXT, is_active INTEGER, metadata TEXT, created_at TEXT);
    CREATE TABLE test_cases (id TEXT PRIMARY KEY, prompt_id TEXT, input TEXT, expected_output TEXT);
    CREATE TABLE test_results (id TEXT PRIMARY KEY, score REAL);
  `);
  db.prepare('INSERT INTO prompts VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    '0b5d3c1e-8f8a-4d7e-9a51-2f6b7c8d9e01',
    'Cold email',
    'Bonjour {{first_name}}',
    'email_body',
    1,
    '{"temperature": 0.2}',
    '2025-07-10T09:00:00Z',
  );
  db.prepare('INSERT INTO prompts VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    'p-2',
    'Classifier',
    'Classify: {{reply}}',
    'analysis',
    0,
    null,
    null,
  );
  const tc = db.prepare('INSERT INTO test_cases VALUES (?, ?, ?, ?)');
  tc.run('t1', '0b5d3c1e-8f8a-4d7e-9a51-2f6b7c8d9e01', '{"first_name": "Ada"}', 'Bonjour Ada');
  tc.run('t2', '0b5d3c1e-8f8a-4d7e-9a51-2f6b7c8d9e01', '{"first_name": "Bob"}', 'Bonjour Bob');
  tc.run('t3', 'missing', '{}', null);
  db.close();
  return file;
}

beforeAll(async () => {
  ctx = await setupLegacyDb('legacy_sqlite');
});
afterAll(async () => {
  await ctx?.close();
});

describe('legacy SQLite import', () => {
  it('loads the prospects preset with type conversions, then re-runs idempotently', async () => {
    const tenant = await ctx.newOrganisation();
    const file = prospectsDb();
    const first = await importSqlite(ctx.pool, { file, tenant });
    expect(first.status).toBe('succeeded');
    expect(first.mapping.preset).toBe('legacy-prospects');
    expect(
      first.tables.map((t) => [t.table, t.read, t.inserted, t.updated, t.skipped, t.skippedReasons]),
    ).toEqual([
      ['companies', 4, 2, 0, 2, { missing_name: 1, 'invalid_json:custom': 1 }],
      ['contacts', 4, 2, 0, 2, { company_not_found: 1, invalid_email: 1 }],
    ]);
    const companies = await ctx.query<{ id: string; domain: string; custom: unknown; created_at: Date }>(
      tenant,
      'SELECT id, domain::text, custom, created_at FROM crm.companies ORDER BY name',
    );
    expect(companies).toEqual([
      {
        id: COMPANY_ID,
        domain: 'acme.fr',
        custom: { tier: 'gold' },
        created_at: new Date(1_700_000_000_000),
      },
      expect.objectContaining({ domain: 'globex.com', custom: {}, created_at: new Date(1_700_000_000_000) }),
    ]);
    const positions = await ctx.query<{ email: string; status: string; created_at: Date }>(
      tenant,
      'SELECT email::text, status, created_at FROM crm.positions ORDER BY email',
    );
    expect(positions).toEqual([
      { email: 'ada@acme.fr', status: 'active', created_at: new Date('2024-05-01T10:00:00Z') },
      { email: 'bob@globex.com', status: 'former', created_at: new Date('2024-05-02T08:00:00Z') },
    ]);
    const again = await importSqlite(ctx.pool, { file, tenant });
    expect(again.tables.map((t) => [t.table, t.inserted, t.updated, t.skipped])).toEqual([
      ['companies', 0, 2, 2],
      ['contacts', 0, 2, 2],
    ]);
    expect(await ctx.count(tenant, 'crm.companies')).toBe(2);
    expect(await ctx.count(tenant, 'crm.people')).toBe(2);
    const imports = await ctx.query<{ status: string; inserted: number; updated: number; skipped: number }>(
      tenant,
      `SELECT status, inserted, updated, skipped FROM crm.imports WHERE source_kind = 'sqlite' ORDER BY created_at`,
    );
    expect(imports).toEqual([
      { status: 'succeeded', inserted: 4, updated: 0, skipped: 4 },
      { status: 'succeeded', inserted: 0, updated: 4, skipped: 4 },
    ]);
  });

  it('loads prompts with their test cases into outreach.prompts; a dry run writes nothing', async () => {
    const tenant = await ctx.newOrganisation();
    const file = promptsDb();
    const dry = await importSqlite(ctx.pool, { file, tenant, dryRun: true });
    expect(dry.status).toBe('dry_run');
    expect(dry.tables.map((t) => [t.table, t.inserted, t.skipped])).toEqual([
      ['prompts', 2, 0],
      ['test_cases', 2, 1],
    ]);
    expect(await ctx.count(tenant, 'outreach.prompts')).toBe(0);
    expect(await ctx.count(tenant, 'crm.imports')).toBe(0);
    const report = await importSqlite(ctx.pool, { file, tenant });
    expect(report.mapping.preset).toBe('legacy-prompts');
    const prompts = await ctx.query<{
      id: string;
      name: string;
      purpose: string;
      is_active: boolean;
      test_cases: unknown[];
      metadata: object;
    }>(
      tenant,
      'SELECT id, name, purpose, is_active, test_cases, metadata FROM outreach.prompts ORDER BY name',
    );
    expect(prompts).toEqual([
      expect.objectContaining({
        name: 'Classifier',
        purpose: 'other',
        is_active: false,
        test_cases: [],
        metadata: { legacyCategory: 'analysis' },
      }),
      expect.objectContaining({
        id: '0b5d3c1e-8f8a-4d7e-9a51-2f6b7c8d9e01',
        purpose: 'email_body',
        is_active: true,
        metadata: { temperature: 0.2 },
      }),
    ]);
    expect(prompts[1]!.test_cases).toEqual([
      expect.objectContaining({ legacyId: 't1', input: { first_name: 'Ada' }, expected: 'Bonjour Ada' }),
      expect.objectContaining({ legacyId: 't2' }),
    ]);
    await importSqlite(ctx.pool, { file, tenant });
    const after = await ctx.query<{ n: number }>(
      tenant,
      'SELECT jsonb_array_length(test_cases) AS n FROM outreach.prompts ORDER BY name',
    );
    expect(after.map((r) => r.n)).toEqual([0, 2]);
  });

  it('skips a row the database refuses alone, and rolls everything back on any other error', async () => {
    const companiesDb = (rows: Array<[string, string, string | null, number | null]>) => {
      const file = join(dir, `checks-${Math.random().toString(16).slice(2)}.db`);
      const db = new Database(file);
      db.exec('CREATE TABLE companies (id TEXT PRIMARY KEY, name TEXT, naf TEXT, employees INTEGER)');
      const insert = db.prepare('INSERT INTO companies VALUES (?, ?, ?, ?)');
      for (const row of rows) insert.run(...row);
      db.close();
      return file;
    };
    const mapping = {
      source: 'checks',
      tables: {
        companies: {
          target: 'companies',
          key: 'id',
          columns: { name: 'name', naf_code: 'naf', employee_count: 'employees' },
        },
      },
    };
    const tenant = await ctx.newOrganisation();
    const refused = companiesDb([
      ['k1', 'Alpha', '62.01Z', 10],
      ['k2', 'Beta', null, -5], // fails the employee_count CHECK: skipped, its savepoint undone
      ['k3', 'Gamma', null, 20],
      ['k6', 'Zeta', 'bogus', 5], // refused by the NAF field rule before the database sees it
    ]);
    const first = await importSqlite(ctx.pool, { file: refused, tenant, mapping });
    expect(first.tables.map((t) => [t.inserted, t.skipped, t.skippedReasons])).toEqual([
      [2, 2, { 'rejected_by_database:companies_employee_count_check': 1, invalid_naf: 1 }],
    ]);
    expect(await ctx.count(tenant, 'crm.companies')).toBe(2);
    expect(await ctx.count(tenant, 'crm.import_source_keys')).toBe(2);

    // 3e9 overflows the integer column (SQLSTATE 22003): not a row problem, so nothing is kept.
    const overflow = companiesDb([
      ['k4', 'Delta', null, 1],
      ['k5', 'Epsilon', null, 3_000_000_000],
    ]);
    const second = await importSqlite(ctx.pool, { file: overflow, tenant, mapping });
    expect(second.status).toBe('failed');
    expect(await ctx.count(tenant, 'crm.companies')).toBe(2);
    expect(await ctx.count(tenant, 'crm.import_source_keys')).toBe(2);
    const statuses = await ctx.query<{ status: string }>(
      tenant,
      `SELECT status FROM crm.imports WHERE source_kind = 'sqlite' ORDER BY created_at`,
    );
    expect(statuses.map((r) => r.status)).toEqual(['succeeded', 'failed']);
  });

  it('runs as a CLI: summary printed, JSON report written, custom mapping honoured', async () => {
    const tenant = await ctx.newOrganisation();
    const file = prospectsDb();
    const mappingFile = join(dir, 'mapping.json');
    const reportFile = join(dir, 'report.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      mappingFile,
      JSON.stringify({
        source: 'crm-v1',
        tables: {
          companies: { target: 'companies', key: 'id', columns: { name: 'name', website_url: 'website' } },
        },
      }),
    );
    const { stdout } = await runGuardedScript(
      'src/cli.ts',
      [file, '--organisation', tenant.organisationId, '--mapping', mappingFile, '--report', reportFile],
      {
        env: { ...process.env, DATABASE_URL: ctx.appUrl },
        cwd: join(import.meta.dirname, '..'),
      },
    );
    expect(stdout).toMatch(/companies\s+companies\s+4\s+3\s+0\s+1\s+missing_name×1/);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report).toMatchObject({ status: 'succeeded', databases: [{ source: 'crm-v1' }] });
    const companies = report.databases[0].tables.find((t: { table: string }) => t.table === 'companies');
    expect(companies).toMatchObject({ fate: 'mapped', typed: { inserted: 3 }, archive: { inserted: 4 } });
    expect(await ctx.count(tenant, 'crm.positions')).toBe(0);
  });
});
