import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { inTenantUnit, undoImport } from '@prospectflow/import-engine';
import { retentionRules } from '@prospectflow/outreach-core';
import type { TenantContext as Tenant } from '@prospectflow/tenant-context';
import { runGuardedScript } from '@prospectflow/testing/setup';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consolidate, SourceNameConflict } from '../src/consolidate.js';
import { findDatabases } from '../src/sources.js';
import { setupLegacyDb } from './helpers.js';

const execFileAsync = promisify(execFile);
let ctx: Awaited<ReturnType<typeof setupLegacyDb>>;
const dir = mkdtempSync(join(tmpdir(), 'pf-edge-cases-'));

beforeAll(async () => {
  ctx = await setupLegacyDb('legacy_edge_cases');
});
afterAll(async () => {
  await ctx?.close();
});

const run = async (tenant: Tenant, paths: string[], extra: { sourceName?: string } = {}) => {
  const report = await consolidate(ctx.pool, { databases: findDatabases(paths), tenant, ...extra });
  expect(report.status, report.error).toBe('succeeded');
  return report;
};

/** A legacy prospects store: one company, contacts [id, first name, email, created_at]. */
function prospects(file: string, company: string, contacts: Array<[number, string, string, string | null]>) {
  const db = new Database(file);
  db.exec(`CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT);
    CREATE TABLE contacts (id INTEGER PRIMARY KEY, company_id INTEGER, first_name TEXT, last_name TEXT,
                           email TEXT, title TEXT, created_at TEXT);`);
  db.prepare('INSERT INTO companies VALUES (1, ?)').run(company);
  const insert = db.prepare('INSERT INTO contacts VALUES (?, 1, ?, ?, ?, NULL, ?)');
  for (const [id, first, email, created] of contacts) insert.run(id, first, 'Legacy', email, created);
  db.close();
  return file;
}

describe('collection date of consolidated people', () => {
  const collected = async (tenant: Tenant) =>
    Object.fromEntries(
      (
        await ctx.query<{ first_name: string; at: Date }>(
          tenant,
          'SELECT first_name, collected_at AS at FROM crm.people',
        )
      ).map((r) => [r.first_name, r.at.toISOString()]),
    );

  it('is the legacy creation date (retention counts from it), kept by re-runs and restored by undo', async () => {
    const tenant = await ctx.newOrganisation();
    // A person the API collected in 2025, whom the legacy store also holds (from 2018).
    await ctx.query(
      tenant,
      `WITH c AS (INSERT INTO crm.companies (name) VALUES ('Api Co') RETURNING id),
            p AS (INSERT INTO crm.people (first_name, collected_at, created_at)
                  VALUES ('Api', '2025-03-01T00:00:00Z', '2025-03-01T00:00:00Z') RETURNING id)
       INSERT INTO crm.positions (person_id, company_id, email) SELECT p.id, c.id, 'api@old-co.fr' FROM p, c`,
    );
    const file = prospects(join(dir, 'collected.db'), 'Old Co', [
      [1, 'Old', 'old@old-co.fr', '2019-01-15T10:00:00Z'],
      [2, 'Undated', 'undated@old-co.fr', null],
      [3, 'Api', 'api@old-co.fr', '2018-06-01T00:00:00Z'],
    ]);
    const before = Date.now();
    await run(tenant, [file]);
    const first = await collected(tenant);
    expect(first.Old).toBe('2019-01-15T10:00:00.000Z');
    // No date in the store: collected by this consolidation.
    expect(Date.parse(first.Undated!)).toBeGreaterThanOrEqual(before - 60_000);
    // Another source's collection is not moved by a consolidation.
    expect(first.Api).toBe('2025-03-01T00:00:00.000Z');

    const rule = retentionRules(
      {
        people_retention_days: 1095,
        open_events_retention_months: 13,
        finished_tasks_retention_days: 30,
        import_error_values_retention_days: 90,
        audit_retention_days: 365,
      },
      new Date(),
    ).find((r) => r.name === 'people')!;
    const due = await ctx.query<{ n: number }>(tenant, rule.countSql, [rule.cutoff]);
    expect(due[0]!.n).toBe(1);

    // A run before this fix stamped the import time: the next run (an update) puts the date back.
    await ctx.query(tenant, `UPDATE crm.people SET collected_at = now() WHERE first_name = 'Old'`);
    const stamped = await collected(tenant);
    const db = new Database(file);
    db.exec(`UPDATE contacts SET title = 'CEO'`);
    db.close();
    const second = await run(tenant, [file]);
    expect(await collected(tenant)).toEqual(first);

    await inTenantUnit(ctx.pool, tenant, (client) => undoImport(client, second.importId!));
    expect(await collected(tenant)).toEqual(stamped);
  });
});

describe('two databases with the same name', () => {
  const offices = () => {
    const root = mkdtempSync(join(dir, 'offices-'));
    for (const d of ['paris', 'lyon', 'moved']) mkdirSync(join(root, d));
    const paris = prospects(join(root, 'paris', 'prospects.db'), 'Acme Paris', [
      [1, 'Alice', 'alice@acme-paris.fr', null],
    ]);
    const lyon = prospects(join(root, 'lyon', 'prospects.db'), 'Acme Lyon', [
      [1, 'Bruno', 'bruno@acme-lyon.fr', null],
    ]);
    return { root, paris, lyon };
  };
  const state = async (tenant: Tenant) => ({
    people: (await ctx.query<{ n: string }>(tenant, 'SELECT first_name AS n FROM crm.people ORDER BY 1')).map(
      (r) => r.n,
    ),
    companies: await ctx.count(tenant, 'crm.companies'),
    archive: (
      await ctx.query<{ k: string }>(
        tenant,
        `SELECT source_database || ' ' || source_table || ' ' || source_key || ' ' || coalesce(original->>'name', original->>'first_name') AS k
           FROM legacy.archive_rows ORDER BY 1`,
      )
    ).map((r) => r.k),
    imports: await ctx.count(tenant, 'crm.imports'),
  });

  it('refuses a run whose name was consolidated from another file, naming both paths and the fix', async () => {
    const tenant = await ctx.newOrganisation();
    const { root, paris, lyon } = offices();
    await run(tenant, [paris]);
    const afterParis = await state(tenant);
    expect(afterParis.people).toEqual(['Alice']);

    const refused = consolidate(ctx.pool, { databases: findDatabases([lyon]), tenant });
    await expect(refused).rejects.toBeInstanceOf(SourceNameConflict);
    const message = await refused.catch((e: Error) => e.message);
    expect(message).toContain(paris);
    expect(message).toContain(lyon);
    expect(message).toContain('--source-name "lyon/prospects.db"');
    // A dry run is refused the same way; nothing was written, not even an import record.
    await expect(
      consolidate(ctx.pool, { databases: findDatabases([lyon]), tenant, dryRun: true }),
    ).rejects.toBeInstanceOf(SourceNameConflict);
    // A directory run gives the same name (relative to the directory given): refused too.
    await expect(
      consolidate(ctx.pool, { databases: findDatabases([join(root, 'lyon')]), tenant }),
    ).rejects.toBeInstanceOf(SourceNameConflict);
    expect(await state(tenant)).toEqual(afterParis);

    // The same file again is a re-run: accepted, nothing duplicated.
    await run(tenant, [paris]);
    expect((await state(tenant)).people).toEqual(['Alice']);
  });

  it('consolidates the other store under an explicit name, and a moved store under its old name', async () => {
    const tenant = await ctx.newOrganisation();
    const { root, paris, lyon } = offices();
    await run(tenant, [paris]);
    const report = await run(tenant, [lyon], { sourceName: 'lyon/prospects.db' });
    expect(report.databases[0]).toMatchObject({
      name: 'lyon/prospects.db',
      source: 'sqlite:lyon/prospects.db',
    });
    const both = await state(tenant);
    expect(both.people).toEqual(['Alice', 'Bruno']);
    expect(both.companies).toBe(2);
    expect(both.archive).toEqual([
      'lyon/prospects.db companies 1 Acme Lyon',
      'lyon/prospects.db contacts 1 Bruno',
      'prospects.db companies 1 Acme Paris',
      'prospects.db contacts 1 Alice',
    ]);
    // The explicit name is remembered with its path: the next run of that file names it again.
    await run(tenant, [lyon], { sourceName: 'lyon/prospects.db' });
    expect(await run(tenant, [paris])).toBeTruthy();
    expect((await state(tenant)).people).toEqual(['Alice', 'Bruno']);

    // The Paris store moved: refused under its file name until the operator confirms the name.
    const moved = join(root, 'moved', 'prospects.db');
    copyFileSync(paris, moved);
    await expect(consolidate(ctx.pool, { databases: findDatabases([moved]), tenant })).rejects.toBeInstanceOf(
      SourceNameConflict,
    );
    await run(tenant, [moved], { sourceName: 'prospects.db' });
    const after = await state(tenant);
    expect(after.people).toEqual(['Alice', 'Bruno']);
    expect(after.archive).toEqual(both.archive);
    // From now on the moved file is the store's place.
    await run(tenant, [moved]);
  });

  it('answers the CLI with the refusal (exit 1) and takes --source-name', async () => {
    const tenant = await ctx.newOrganisation();
    const { paris, lyon } = offices();
    await run(tenant, [paris]);
    const cwd = join(import.meta.dirname, '..');
    const env = { ...process.env, DATABASE_URL: ctx.appUrl };
    const cli = (args: string[]) => runGuardedScript('src/cli.ts', args, { env, cwd });
    const refused = await cli([lyon, '--organisation', tenant.organisationId]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toMatch(/already consolidated under that name from/);
    const { stdout } = await cli([
      lyon,
      '--organisation',
      tenant.organisationId,
      '--source-name',
      'lyon/prospects.db',
    ]);
    expect(stdout).toMatch(/lyon\/prospects\.db/);
    expect((await state(tenant)).people).toEqual(['Alice', 'Bruno']);
    expect((await cli(['--help'])).stdout).toMatch(/--source-name <name>/);
  }, 120_000);
});

describe('files the CLI writes', () => {
  it('refuses a report or export file it could not write before importing anything (exit 2), not after the commit', async () => {
    const tenant = await ctx.newOrganisation();
    const paris = prospects(join(mkdtempSync(join(dir, 'files-')), 'prospects.db'), 'Acme Files', [
      [1, 'Alice', 'alice@acme-files.fr', null],
    ]);
    const cwd = join(import.meta.dirname, '..');
    const env = { ...process.env, DATABASE_URL: ctx.appUrl };
    const cli = (args: string[]) =>
      runGuardedScript('src/cli.ts', args, { env, cwd }).catch(
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const missing = join(dir, 'no-such-folder', 'report.json');
    const refused = await cli([paris, '--organisation', tenant.organisationId, '--report', missing]);
    expect(refused).toMatchObject({ code: 2 });
    expect((refused as { stderr: string }).stderr).toMatch(/^Cannot write the report .*no-such-folder/);
    expect((refused as { stdout: string }).stdout).not.toMatch(/status:/);
    // Nothing was imported: no import row, no archive, no people.
    expect(await ctx.count(tenant, 'crm.imports')).toBe(0);
    expect(await ctx.count(tenant, 'legacy.archive_rows')).toBe(0);
    // The export: a clean refusal, not an unhandled stream error.
    const exported = await cli(['export', '--organisation', tenant.organisationId, '--out', dir]);
    expect(exported).toMatchObject({ code: 2 });
    expect((exported as { stderr: string }).stderr).toMatch(/^Cannot write the export .*: it is a directory/);
  }, 120_000);
});

describe('the documented commands, from where the operator types them', () => {
  it('resolves relative paths from the caller through the forwarding scripts, and takes --propose output as --mapping', async () => {
    const root = join(import.meta.dirname, '..', '..', '..');
    const file = prospects(join(mkdtempSync(join(dir, 'relative-')), 'prospects.db'), 'Acme Rel', [
      [1, 'Ann', 'ann@acme-rel.fr', null],
    ]);
    const pnpm = (args: string[], cwd: string) =>
      execFileAsync('pnpm', ['-s', ...args], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, INIT_CWD: '' },
      });
    // The command (ingest-api, the old home), the root's, and the root's from a subfolder.
    for (const [args, cwd] of [
      [['--filter', '@prospectflow/ingest-api', 'import:sqlite'], root],
      [['import:sqlite'], root],
      [['import:sqlite'], join(root, 'docs')],
    ] as const) {
      const { stdout } = await pnpm([...args, relative(cwd, file), '--propose'], cwd);
      expect(
        JSON.parse(stdout).discovered.map((t: { name: string }) => t.name),
        cwd,
      ).toEqual(['companies', 'contacts']);
    }
    // README: --propose > mapping.json, look, edit, --mapping mapping.json.
    const mappingFile = join(dir, 'mapping.json');
    writeFileSync(mappingFile, (await pnpm(['import:sqlite', file, '--propose'], root)).stdout);
    const tenant = await ctx.newOrganisation();
    const report = await consolidate(ctx.pool, {
      databases: findDatabases([file]),
      tenant,
      mapping: JSON.parse(readFileSync(mappingFile, 'utf8')),
    });
    expect(report.status, report.error).toBe('succeeded');
    expect(await ctx.count(tenant, 'crm.people')).toBe(1);
  }, 120_000);
});

describe('a damaged database among others', () => {
  it('is named in the failure, and nothing is written', async () => {
    const root = mkdtempSync(join(dir, 'damaged-'));
    prospects(join(root, 'good.db'), 'Acme Good', [[1, 'Ann', 'ann@acme-good.fr', null]]);
    const bad = join(root, 'bad.db');
    const db = new Database(bad);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
    const insert = db.prepare('INSERT INTO notes VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(i, 'x'.repeat(200));
    })();
    db.close();
    // Overwrite part of the table's pages (past the header and the schema page).
    const bytes = readFileSync(bad);
    bytes.fill(0xab, 8192, 8192 + 3000);
    writeFileSync(bad, bytes);
    const tenant = await ctx.newOrganisation();
    await expect(consolidate(ctx.pool, { databases: findDatabases([root]), tenant })).rejects.toThrow(
      /bad\.db.*: database disk image is malformed/,
    );
    expect(await ctx.count(tenant, 'crm.imports')).toBe(0);
    expect(await ctx.count(tenant, 'legacy.archive_rows')).toBe(0);
  });
});

describe('an organisation id that names no organisation', () => {
  it('is said so, dry run or not, instead of a foreign key violation', async () => {
    const file = prospects(join(mkdtempSync(join(dir, 'no-org-')), 'prospects.db'), 'Acme', [
      [1, 'Ann', 'ann@acme-none.fr', null],
    ]);
    const tenant = { organisationId: '11111111-1111-4111-8111-111111111111' };
    const dry = await consolidate(ctx.pool, { databases: findDatabases([file]), tenant, dryRun: true });
    expect(dry).toMatchObject({ status: 'failed' });
    expect(dry.error).toMatch(/^organisation 11111111-1111-4111-8111-111111111111 does not exist/);
    await expect(consolidate(ctx.pool, { databases: findDatabases([file]), tenant })).rejects.toThrow(
      /^organisation 11111111-1111-4111-8111-111111111111 does not exist/,
    );
  });
});

describe('archived values', () => {
  it('keeps REALs reals with their exact value (1e21, the largest double, -0.0) and INTEGERs integers', async () => {
    const file = join(dir, 'values.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE measures (id INTEGER PRIMARY KEY, v);
      INSERT INTO measures VALUES (1, 1e21), (2, 1.7976931348623157e308), (3, -0.0), (4, 1000000000000000000000),
        (5, 9223372036854775807), (6, 123456789012345678901234567890.0), (7, 2.5), (8, -1.5e300),
        (9, 1e-7), (10, 5e-324), (11, 1e20), (12, 0.0), (13, -9e15), (14, 9e999), (15, -9e999);`);
    const truth = db.prepare('SELECT id, typeof(v) AS t, v FROM measures ORDER BY id').all() as Array<{
      id: number;
      t: string;
      v: number;
    }>;
    const integer = (
      db.prepare('SELECT v FROM measures WHERE id = 5').safeIntegers(true).get() as { v: bigint }
    ).v;
    db.close();
    const tenant = await ctx.newOrganisation();
    await run(tenant, [file]);
    const rows = await ctx.query<{ source_key: string; v: string }>(
      tenant,
      `SELECT source_key, (original -> 'v')::text AS v FROM legacy.archive_rows`,
    );
    // The documented format, read the way a reader of the archive does.
    const decode = (text: string): { t: string; v: number | bigint } => {
      const json = JSON.parse(text) as number | { $real?: string };
      if (typeof json === 'object') return { t: 'real', v: Number(json.$real) };
      return /[.eE]/.test(text) ? { t: 'real', v: json } : { t: 'integer', v: BigInt(text) };
    };
    for (const row of truth) {
      const archived = decode(rows.find((r) => r.source_key === String(row.id))!.v);
      expect(`${row.id}:${archived.t}`).toBe(`${row.id}:${row.t}`);
      if (row.t === 'real')
        expect(Object.is(archived.v, row.v), `${row.id}: ${archived.v} vs ${row.v}`).toBe(true);
      else expect(archived.v).toBe(integer);
    }
  });
});

describe('tables whose columns hide the rowid', () => {
  it('archives every row of tables with columns named rowid, _rowid_, oid or __pf_rowid, and WITHOUT ROWID tables', async () => {
    const root = mkdtempSync(join(dir, 'rowid-'));
    const db = new Database(join(root, 'odd.db'));
    db.exec(`CREATE TABLE events (rowid INTEGER, what TEXT);
      INSERT INTO events VALUES (7, 'a'), (7, 'b'), (NULL, 'c'), (NULL, 'd');
      CREATE TABLE shadow (__pf_rowid TEXT, "ROWID" TEXT, what TEXT);
      INSERT INTO shadow VALUES ('x', 'y', 'a'), ('x', 'y', 'b');
      CREATE TABLE hidden (rowid, _rowid_, oid, what TEXT);
      INSERT INTO hidden VALUES (1, 1, 1, 'a'), (1, 1, 1, 'b'), (NULL, NULL, NULL, 'c');
      CREATE TABLE keyed (code TEXT PRIMARY KEY, rowid TEXT, what TEXT) WITHOUT ROWID;
      INSERT INTO keyed VALUES ('k2', 'r', 'b'), ('k1', 'r', 'a'), ('rowid:1', 'r', 'c');`);
    db.close();
    // A mapped table without rowid, with a column named __rowid (the typed load's old alias).
    const prospectsDb = new Database(join(root, 'prospects.db'));
    prospectsDb.exec(`CREATE TABLE companies (id TEXT PRIMARY KEY, name TEXT, __rowid TEXT) WITHOUT ROWID;
      INSERT INTO companies VALUES ('c-1', 'Acme', 'x');
      CREATE TABLE contacts (rowid TEXT, company_id TEXT, first_name TEXT, email TEXT);
      INSERT INTO contacts VALUES ('same', 'c-1', 'Ada', 'ada@acme.fr'), ('same', 'c-1', 'Bob', 'bob@acme.fr');`);
    prospectsDb.close();
    const tenant = await ctx.newOrganisation();
    const report = await run(tenant, [root]);
    const archived = await ctx.query<{ k: string }>(
      tenant,
      `SELECT source_table || ' ' || source_key || ' ' || (original->>'what') AS k FROM legacy.archive_rows
        WHERE source_database = 'odd.db' ORDER BY 1`,
    );
    expect(archived.map((r) => r.k)).toEqual([
      'events rowid:1 a',
      'events rowid:2 b',
      'events rowid:3 c',
      'events rowid:4 d',
      'hidden row:1 a',
      'hidden row:2 b',
      'hidden row:3 c',
      'keyed k1 a',
      'keyed k2 b',
      // A key that looks like the fallback's own keys: its position instead.
      'keyed row:3 c',
      'shadow rowid:1 a',
      'shadow rowid:2 b',
    ]);
    const events = await ctx.query<{ o: unknown }>(
      tenant,
      `SELECT original AS o FROM legacy.archive_rows WHERE source_table = 'events' ORDER BY source_key`,
    );
    expect(events.map((r) => r.o)).toEqual([
      { rowid: 7, what: 'a' },
      { rowid: 7, what: 'b' },
      { rowid: null, what: 'c' },
      { rowid: null, what: 'd' },
    ]);
    // The typed load reads them too; contacts keyed by their (duplicate) rowid column: one kept.
    const typed = report.databases.find((d) => d.name === 'prospects.db')!.tables;
    expect(typed.find((t) => t.table === 'companies')!.typed).toMatchObject({ inserted: 1, skipped: 0 });
    expect(await ctx.count(tenant, 'crm.companies')).toBe(1);
    expect(await ctx.count(tenant, 'legacy.archive_rows')).toBe(15);

    // A re-run finds the same keys: nothing changes.
    const again = await run(tenant, [root]);
    const archive = again.databases.flatMap((d) => d.tables.map((t) => t.archive!));
    expect(archive.reduce((n, a) => n + a.unchanged, 0)).toBe(15);
  });
});

describe('text that is not valid UTF-8', () => {
  it('keeps its bytes ($text) in tables with a rowid, WITHOUT ROWID tables and tables whose columns hide the rowid', async () => {
    const file = join(dir, 'bytes.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE plain (id INTEGER PRIMARY KEY, note TEXT);
      CREATE TABLE keyed (code TEXT PRIMARY KEY, note TEXT) WITHOUT ROWID;
      CREATE TABLE hidden (rowid, _rowid_, oid, note TEXT);`);
    // 'A', an 0xFF byte (never valid UTF-8), 'B'; and a valid row around it.
    const bad = "CAST(x'41ff42' AS TEXT)";
    db.exec(`INSERT INTO plain VALUES (1, 'ok'), (2, ${bad});
      INSERT INTO keyed VALUES ('a', 'ok'), ('b', ${bad}), ('c', 'é');
      INSERT INTO hidden VALUES (1, 1, 1, 'ok'), (1, 1, 1, ${bad});`);
    db.close();
    const tenant = await ctx.newOrganisation();
    await run(tenant, [file]);
    const rows = await ctx.query<{ k: string; note: unknown }>(
      tenant,
      `SELECT source_table || ' ' || source_key AS k, original -> 'note' AS note FROM legacy.archive_rows ORDER BY 1`,
    );
    const bytes = { $text: Buffer.from([0x41, 0xff, 0x42]).toString('base64') };
    expect(rows).toEqual([
      { k: 'hidden row:1', note: 'ok' },
      { k: 'hidden row:2', note: bytes },
      { k: 'keyed a', note: 'ok' },
      { k: 'keyed b', note: bytes },
      { k: 'keyed c', note: 'é' },
      { k: 'plain 1', note: 'ok' },
      { k: 'plain 2', note: bytes },
    ]);
  });
});

describe('generated columns and virtual tables', () => {
  it('archives and reports generated columns (VIRTUAL and STORED) and skips only hidden virtual-table columns', async () => {
    const file = join(dir, 'generated.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE lines (id INTEGER PRIMARY KEY, qty INTEGER, price REAL,
        total REAL GENERATED ALWAYS AS (qty * price) VIRTUAL,
        label TEXT GENERATED ALWAYS AS ('#' || id) STORED);
      INSERT INTO lines (id, qty, price) VALUES (1, 3, 2.5), (2, NULL, 1.0);
      CREATE VIRTUAL TABLE notes USING fts5(title, body);
      INSERT INTO notes VALUES ('hello', 'world');`);
    const truth = db.prepare('SELECT * FROM lines ORDER BY id').all();
    db.close();
    const tenant = await ctx.newOrganisation();
    const report = await run(tenant, [file]);
    const table = (name: string) => report.databases[0]!.tables.find((t) => t.table === name)!;
    expect(table('lines').columns.map((c) => `${c.name}:${c.fate}`)).toEqual([
      'id:archived',
      'qty:archived',
      'price:archived',
      'total:archived',
      'label:archived',
    ]);
    const rows = await ctx.query<{ o: Record<string, unknown> }>(
      tenant,
      `SELECT original AS o FROM legacy.archive_rows WHERE source_table = 'lines' ORDER BY source_key`,
    );
    expect(rows.map((r) => r.o)).toEqual(truth);
    // FTS5's hidden columns (the table's own name, rank) are not data: title and body only.
    expect(table('notes').columns.map((c) => c.name)).toEqual(['title', 'body']);
  });
});

describe('field rules, as the API and the CSV import apply them', () => {
  it('refuses a SIRET of another company, stores the SIREN a SIRET names, trims what String#trim trims, never folds U+212A into k', async () => {
    const file = join(dir, 'rules.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT, siren TEXT, siret TEXT, country TEXT);
      CREATE TABLE contacts (id INTEGER PRIMARY KEY, company_id INTEGER, first_name TEXT, last_name TEXT, email TEXT);`);
    const company = db.prepare('INSERT INTO companies VALUES (?, ?, ?, ?, ?)');
    company.run(1, 'Mismatch', '552100554', '73282932000074', null); // the SIRET is Globex's
    company.run(2, 'Padded', '542065479\u2003', '54206547900009\u202f', 'France\u3000');
    company.run(3, 'Siret only', null, '38012986646850', null); // its SIREN is stored too
    company.run(4, 'Siret of no SIREN', null, '55210055500002', null); // 552100555 fails its check digit
    const contact = db.prepare('INSERT INTO contacts VALUES (?, 2, ?, ?, ?)');
    contact.run(1, 'Ada', 'Legacy', 'ada@padded.fr\u202f');
    contact.run(2, 'Karl', 'Legacy', '\u212Aarl@padded.fr');
    db.close();
    const tenant = await ctx.newOrganisation();
    const report = await run(tenant, [file]);
    const typed = Object.fromEntries(report.databases[0]!.tables.map((t) => [t.table, t.typed]));
    expect(typed.companies).toMatchObject({
      inserted: 3,
      skipped: 1,
      skippedReasons: { siret_siren_mismatch: 1 },
    });
    expect(typed.contacts).toMatchObject({ inserted: 1, skipped: 1, skippedReasons: { invalid_email: 1 } });
    expect(
      await ctx.query(tenant, 'SELECT name, siren, siret, country_code FROM crm.companies ORDER BY name'),
    ).toEqual([
      { name: 'Padded', siren: '542065479', siret: '54206547900009', country_code: 'FR' },
      { name: 'Siret of no SIREN', siren: null, siret: '55210055500002', country_code: null },
      { name: 'Siret only', siren: '380129866', siret: '38012986646850', country_code: null },
    ]);
    expect(await ctx.query(tenant, 'SELECT email::text FROM crm.positions')).toEqual([
      { email: 'ada@padded.fr' },
    ]);
  });
});
