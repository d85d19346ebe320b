import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGuardedScript } from '@prospectflow/testing/setup';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consolidate } from '../src/consolidate.js';
import { type ExampleStores, makeExampleStores } from '../src/example-stores.js';
import { findDatabases } from '../src/sources.js';
import { setupLegacyDb } from './helpers.js';

let ctx: Awaited<ReturnType<typeof setupLegacyDb>>;
let stores: ExampleStores;

beforeAll(async () => {
  ctx = await setupLegacyDb('legacy_consolidate');
  stores = makeExampleStores(mkdtempSync(join(tmpdir(), 'pf-stores-')));
});
afterAll(async () => {
  await ctx?.close();
});

const hexOfText = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();
/** A real as text, -0 included (String(-0) is "0"). */
const realText = (n: number) => (Object.is(n, -0) ? '-0' : String(n));
const hexOfBase64 = (s: string) => Buffer.from(s, 'base64').toString('hex').toUpperCase();

/**
 * A value as SQLite holds it, read by SQLite itself (typeof, hex of the bytes, the integer as
 * text): the ground truth the archive is compared with, independent of the importer's reader.
 */
function sqliteRows(file: string, table: string): string[] {
  const db = new Database(file, { readonly: true });
  const columns = (db.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string }>).map(
    (c) => c.name,
  );
  const select = columns
    .map(
      (c, i) =>
        `typeof("${c}") AS t${i}, hex("${c}") AS h${i}, CAST("${c}" AS TEXT) AS s${i}, "${c}" AS v${i}`,
    )
    .join(', ');
  const rows = db.prepare(`SELECT ${select} FROM "${table}"`).all() as Array<Record<string, unknown>>;
  db.close();
  return rows
    .map((row) =>
      columns
        .map((c, i) => {
          const type = row[`t${i}`] as string;
          const value =
            type === 'null'
              ? ''
              : type === 'integer'
                ? row[`s${i}`]
                : type === 'real'
                  ? realText(row[`v${i}`] as number)
                  : row[`h${i}`];
          return `${c}=${type}:${value}`;
        })
        .join('|'),
    )
    .sort();
}

/** The archived rows of a table, decoded by the documented format (README, sqlite-values.ts). */
async function archivedRows(organisationId: string, database: string, table: string): Promise<string[]> {
  const rows = await ctx.query<{
    source_key: string;
    cols: Array<{ key: string; value: string; type: string }>;
  }>(
    { organisationId },
    `SELECT source_key, (SELECT json_agg(json_build_object('key', key, 'value', value::text, 'type', jsonb_typeof(value)) ORDER BY ordinality)
                           FROM jsonb_each(original) WITH ORDINALITY) AS cols
       FROM legacy.archive_rows WHERE source_database = $1 AND source_table = $2`,
    [database, table],
  );
  const file = new Database(join(stores.dir, database), { readonly: true });
  const columns = (file.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string }>).map(
    (c) => c.name,
  );
  file.close();
  return rows
    .map((row) => {
      const byKey = new Map(row.cols.map((c) => [c.key, c]));
      expect([...byKey.keys()].sort()).toEqual([...columns].sort());
      return columns
        .map((name) => {
          const c = byKey.get(name)!;
          if (c.type === 'null') return `${name}=null:`;
          if (c.type === 'string') return `${name}=text:${hexOfText(JSON.parse(c.value))}`;
          if (c.type === 'number') {
            const real = /[.eE]/.test(c.value);
            return real ? `${name}=real:${realText(Number(c.value))}` : `${name}=integer:${c.value}`;
          }
          const o = JSON.parse(c.value) as { $blob?: string; $text?: string; $real?: string };
          if (o.$blob !== undefined) return `${name}=blob:${hexOfBase64(o.$blob)}`;
          if (o.$text !== undefined) return `${name}=text:${hexOfBase64(o.$text)}`;
          return `${name}=real:${realText(Number(o.$real))}`;
        })
        .join('|');
    })
    .sort();
}

describe('consolidating the three legacy stores', () => {
  it('archives every row and column losslessly, maps the prompts, and reports every table and column', async () => {
    const tenant = await ctx.newOrganisation();
    const databases = findDatabases([stores.dir]);
    expect(databases.map((d) => d.name).sort()).toEqual([
      'data/analysis_storage/analysis_data.db',
      'data/governance/governance.db',
      'data/prompts.db',
    ]);
    const report = await consolidate(ctx.pool, { databases, tenant });
    expect(report.status, report.error).toBe('succeeded');
    expect(report.databases.map((d) => d.store).sort()).toEqual(['analysis', 'governance', 'prompts']);

    for (const database of report.databases) {
      const db = new Database(database.path, { readonly: true });
      const objects = db
        .prepare(`SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name`)
        .all() as Array<{ name: string; type: string }>;
      expect(database.tables.map((t) => t.table)).toEqual(objects.map((o) => o.name));
      for (const table of database.tables) {
        const columns = (
          db.prepare(`PRAGMA table_info("${table.table}")`).all() as Array<{ name: string }>
        ).map((c) => c.name);
        expect(table.columns.map((c) => c.name)).toEqual(columns);
        const { n } = db.prepare(`SELECT count(*) AS n FROM "${table.table}"`).get() as { n: number };
        expect(table.read).toBe(n);
        expect(table.reason.length).toBeGreaterThan(10);
        if (table.kind === 'table') {
          // Every row archived, the archive read back from PostgreSQL equal to the source, value by value.
          const a = table.archive!;
          expect(a.inserted + a.updated + a.unchanged + a.rejected).toBe(n);
          expect(table.postLoad!.archived).toBe(n);
          expect(table.columns.every((c) => c.archived)).toBe(true);
          expect(await archivedRows(tenant.organisationId, database.name, table.table)).toEqual(
            sqliteRows(database.path, table.table),
          );
        } else {
          expect(table.fate).toBe('rejected');
          expect(table.archive).toBeNull();
        }
      }
      db.close();
    }
    const prompts = report.databases.find((d) => d.store === 'prompts')!;
    const promptsTable = prompts.tables.find((t) => t.table === 'prompts')!;
    expect(promptsTable.fate).toBe('mapped');
    expect(promptsTable.typed).toMatchObject({
      read: 4,
      inserted: 2,
      skipped: 2,
      skippedReasons: { missing_content: 1, 'invalid_json:metadata': 1 },
    });
    expect(promptsTable.postLoad).toEqual({ archived: 4, typed: 2 });
    expect(promptsTable.columns.find((c) => c.name === 'template')).toMatchObject({
      fate: 'mapped',
      mappedTo: 'outreach.prompts.content',
      archived: true,
    });
    expect(prompts.tables.find((t) => t.table === 'test_results')!.fate).toBe('archived');
    const analysis = report.databases.find((d) => d.store === 'analysis')!;
    expect(analysis.tables.find((t) => t.table === 'pending_tasks')).toMatchObject({
      kind: 'view',
      fate: 'rejected',
    });
    expect(analysis.tables.find((t) => t.table === 'sqlite_sequence')).toMatchObject({
      kind: 'internal',
      fate: 'rejected',
    });
    expect(await ctx.count(tenant, 'outreach.prompts')).toBe(2);
    // The catalogue keeps the fates (no values), one row per source object.
    expect(await ctx.count(tenant, 'legacy.source_tables')).toBe(
      report.databases.reduce((n, d) => n + d.tables.length, 0),
    );

    // A second run finds everything already archived: nothing duplicated, nothing rewritten.
    const again = await consolidate(ctx.pool, { databases, tenant });
    for (const table of again.databases.flatMap((d) => d.tables).filter((t) => t.archive)) {
      expect(table.archive).toMatchObject({ inserted: 0, updated: 0, unchanged: table.read });
    }
  });

  it('keeps the archive tenant-scoped and fails closed without an organisation', async () => {
    const a = await ctx.newOrganisation();
    const b = await ctx.newOrganisation();
    await consolidate(ctx.pool, { databases: findDatabases([stores.files.governance]), tenant: a });
    expect(await ctx.count(a, 'legacy.archive_rows')).toBe(8);
    expect(await ctx.count(b, 'legacy.archive_rows')).toBe(0);
    await expect(ctx.pool.query('SELECT count(*) FROM legacy.archive_rows')).rejects.toMatchObject({
      code: 'PF001',
    });
    const { rows } = await ctx.admin.query<{ forced: boolean }>(
      `SELECT bool_and(relforcerowsecurity AND relrowsecurity) AS forced FROM pg_class
        WHERE oid IN ('legacy.archive_rows'::regclass, 'legacy.source_tables'::regclass)`,
    );
    expect(rows[0]!.forced).toBe(true);
  });

  it('erases a person from the archive (app.erase_legacy_subject) and never archives them again', async () => {
    const tenant = await ctx.newOrganisation();
    const databases = findDatabases([stores.dir]);
    await consolidate(ctx.pool, { databases, tenant });
    const mentions = `SELECT count(*)::int AS n FROM legacy.archive_rows WHERE original::text ILIKE '%jeanne.erase@example.fr%'`;
    expect((await ctx.query<{ n: number }>(tenant, mentions))[0]!.n).toBe(2);
    const erased = await ctx.query<{ n: number }>(tenant, 'SELECT app.erase_legacy_subject($1, $2) AS n', [
      ['jeanne.erase@example.fr'],
      ['Jeanne Erase'],
    ]);
    expect(erased[0]!.n).toBe(2);
    expect((await ctx.query<{ n: number }>(tenant, mentions))[0]!.n).toBe(0);
    // The erasure flow puts the keyed hash on the suppression list: a re-run rejects those rows.
    const { loadSubjectKeys, subjectHmac } = await import('@prospectflow/outreach-core');
    const keys = loadSubjectKeys();
    await ctx.query(
      tenant,
      `INSERT INTO outreach.suppression_hashes (key_version, email_hmac, reason) VALUES ($1, $2, 'erasure')`,
      [keys.current.version, subjectHmac('jeanne.erase@example.fr', keys.current)],
    );
    const again = await consolidate(ctx.pool, { databases, tenant, subjectKeys: keys });
    const rejected = again.databases
      .flatMap((d) => d.tables)
      .reduce((n, t) => n + (t.archive?.rejectedReasons.erased_subject ?? 0), 0);
    expect(rejected).toBe(2);
    expect((await ctx.query<{ n: number }>(tenant, mentions))[0]!.n).toBe(0);
  });

  it('runs as a CLI over a directory, then exports the archive as JSON Lines; every command answers --help', async () => {
    const tenant = await ctx.newOrganisation();
    const cwd = join(import.meta.dirname, '..');
    const env = { ...process.env, DATABASE_URL: ctx.appUrl };
    const cli = (args: string[]) => runGuardedScript('src/cli.ts', args, { env, cwd });
    const reportFile = join(stores.dir, 'report.json');
    const { stdout } = await cli([
      stores.dir,
      '--organisation',
      tenant.organisationId,
      '--report',
      reportFile,
    ]);
    expect(stdout).toMatch(/■ data\/prompts\.db \(prompts store/);
    expect(stdout).toMatch(/processing_tasks\s+archived\s+4\s+4\/0\/0\/0\s+4/);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.status).toBe('succeeded');
    const exported = join(stores.dir, 'export.jsonl');
    await cli(['export', '--organisation', tenant.organisationId, '--out', exported]);
    const lines = readFileSync(exported, 'utf8').trim().split('\n');
    expect(lines.length).toBe(await ctx.count(tenant, 'legacy.archive_rows'));
    // 64-bit integers survive the export (no JS number in between).
    expect(lines.some((l) => l.includes('9223372036854775807'))).toBe(true);
    const { stdout: only } = await cli([
      'export',
      '--organisation',
      tenant.organisationId,
      '--database',
      'data/governance/governance.db',
      '--table',
      'data_lineage',
    ]);
    expect(
      only
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).key),
    ).toEqual(['["analysis_data","report.pdf"]', '["crm.csv","analysis_data"]']);
    for (const args of [['--help'], ['export', '--help']]) {
      expect((await cli(args)).stdout).toMatch(/^Usage/);
    }
    expect((await runGuardedScript('src/example-stores-cli.ts', ['--help'], { cwd })).stdout).toMatch(
      /^Usage/,
    );
    // Several CLI processes one after the other (each a tsx start): slow on a shared machine.
  }, 120_000);
});
