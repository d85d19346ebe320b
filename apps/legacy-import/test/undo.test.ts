import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inTenantUnit, UndoRefused, undoImport } from '@prospectflow/import-engine';
import type { TenantContext as Tenant } from '@prospectflow/tenant-context';
import { runGuardedScript } from '@prospectflow/testing/setup';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consolidate } from '../src/consolidate.js';
import { makeExampleStores } from '../src/example-stores.js';
import { findDatabases } from '../src/sources.js';
import { setupLegacyDb } from './helpers.js';

let ctx: Awaited<ReturnType<typeof setupLegacyDb>>;
const dir = mkdtempSync(join(tmpdir(), 'pf-undo-'));

const TABLES = [
  'crm.companies',
  'crm.people',
  'crm.positions',
  'outreach.prompts',
  'crm.import_source_keys',
  'legacy.archive_rows',
  'legacy.source_tables',
];

/** Every column of every row of the tables an import writes, hashed per table. */
async function checksums(tenant: Tenant): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const rows = await ctx.query<{ sum: string; n: number }>(
      tenant,
      `SELECT md5(coalesce(string_agg(to_jsonb(t)::text, ',' ORDER BY t.id), '')) AS sum, count(*)::int AS n FROM ${table} t`,
    );
    out[table] = `${rows[0]!.n}:${rows[0]!.sum}`;
  }
  return out;
}

function prospectsDb(): string {
  const file = join(dir, `prospects-${Math.random().toString(16).slice(2)}.db`);
  const db = new Database(file);
  db.exec(`
    CREATE TABLE companies (id TEXT PRIMARY KEY, name TEXT, website TEXT, created_at INTEGER);
    CREATE TABLE contacts (id INTEGER PRIMARY KEY, company_id TEXT, first_name TEXT, last_name TEXT, email TEXT, title TEXT);
  `);
  db.prepare('INSERT INTO companies VALUES (?, ?, ?, ?)').run('c-1', 'Acme SAS', 'acme.fr', 1_700_000_000);
  db.prepare('INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?)').run(
    1,
    'c-1',
    'Ada',
    'Martin',
    'ada@acme.fr',
    'CEO',
  );
  db.close();
  return file;
}

const consolidateFile = async (tenant: Tenant, file: string, name: string) => {
  const report = await consolidate(ctx.pool, { databases: [{ path: file, name }], tenant });
  expect(report.status, report.error).toBe('succeeded');
  return report.importId!;
};
const undo = (tenant: Tenant, importId: string, dryRun = false) =>
  inTenantUnit(ctx.pool, tenant, (client) => undoImport(client, importId, { dryRun }));

beforeAll(async () => {
  ctx = await setupLegacyDb('legacy_undo');
});
afterAll(async () => {
  await ctx?.close();
});

describe('undo of a SQLite consolidation', () => {
  it('removes what the import created and restores what it updated: table checksums equal', async () => {
    const tenant = await ctx.newOrganisation();
    const empty = await checksums(tenant);
    const stores = makeExampleStores(mkdtempSync(join(dir, 'stores-')));
    const file = prospectsDb();
    const first = await consolidateFile(tenant, file, 'prospects.db');
    const first2 = await consolidateFile(tenant, stores.files.prompts, 'prompts.db');
    const before = await checksums(tenant);
    expect(before['crm.positions']).toMatch(/^1:/);

    // The legacy file changed: a company renamed, a contact retitled, a new contact, a prompt edited.
    const db = new Database(file);
    db.exec(`UPDATE companies SET name = 'Acme Group' WHERE id = 'c-1';
             UPDATE contacts SET title = 'President' WHERE id = 1;
             INSERT INTO contacts VALUES (2, 'c-1', 'Bob', 'Durand', 'bob@acme.fr', 'CTO');`);
    db.close();
    const prompts = new Database(stores.files.prompts);
    prompts.exec(`UPDATE prompts SET template = 'Hello {{first_name}}' WHERE name = 'Cold email'`);
    prompts.close();
    const second = await consolidateFile(tenant, file, 'prospects.db');
    const second2 = await consolidateFile(tenant, stores.files.prompts, 'prompts.db');
    const after = await checksums(tenant);
    expect(after['crm.positions']).toMatch(/^2:/);
    expect(after['crm.companies']).not.toBe(before['crm.companies']);

    const preview = await undo(tenant, second, true);
    expect(preview).toMatchObject({ dryRun: true, applied: false, conflicts: [] });
    expect(preview.tables['crm.positions']).toEqual({ delete: 1, restore: 1, gone: 0 });
    expect(preview.tables['crm.companies']).toEqual({ delete: 0, restore: 1, gone: 0 });
    expect(await checksums(tenant)).toEqual(after);

    expect((await undo(tenant, second2)).applied).toBe(true);
    const done = await undo(tenant, second);
    expect(done.applied).toBe(true);
    expect(await checksums(tenant)).toEqual(before);
    await expect(undo(tenant, second)).rejects.toMatchObject({ code: 'import_already_undone' });

    // Undoing the first imports too (newest first) gets back to the empty organisation.
    await undo(tenant, first2);
    await undo(tenant, first);
    expect(await checksums(tenant)).toEqual(empty);
  });

  it('lists the conflicts and changes nothing when a row changed since, or depends on a created one', async () => {
    const tenant = await ctx.newOrganisation();
    const importId = await consolidateFile(tenant, prospectsDb(), 'prospects.db');
    await ctx.query(tenant, `UPDATE crm.companies SET name = 'Renamed by a user'`);
    const before = await checksums(tenant);
    const changed = await undo(tenant, importId);
    expect(changed.applied).toBe(false);
    expect(changed.conflicts.map((c) => [c.table, c.reason])).toEqual([['crm.companies', 'changed_since']]);
    expect(await checksums(tenant)).toEqual(before);

    // A position created since at the imported company: deleting the company would cascade to it.
    const other = await ctx.newOrganisation();
    const second = await consolidateFile(other, prospectsDb(), 'prospects.db');
    const person = await ctx.query<{ id: string }>(
      other,
      `INSERT INTO crm.people (last_name) VALUES ('Later') RETURNING id`,
    );
    await ctx.query(
      other,
      `INSERT INTO crm.positions (person_id, company_id, email) SELECT $1, id, 'later@acme.fr' FROM crm.companies`,
      [person[0]!.id],
    );
    const referenced = await undo(other, second);
    expect(referenced.conflicts.map((c) => [c.table, c.reason])).toEqual([
      ['crm.companies', 'referenced_since'],
    ]);
    expect(await ctx.count(other, 'crm.positions')).toBe(2);
    // A created row deleted since is simply gone; the rest is undone.
    await ctx.query(other, `DELETE FROM crm.positions WHERE email = 'later@acme.fr'`);
    await ctx.query(other, `DELETE FROM crm.positions WHERE email = 'ada@acme.fr'`);
    const undone = await undo(other, second);
    expect(undone).toMatchObject({ applied: true, conflicts: [] });
    expect(undone.tables['crm.positions']).toEqual({ delete: 0, restore: 0, gone: 1 });
    expect(await ctx.count(other, 'crm.companies')).toBe(0);
    await expect(undo(other, '00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(UndoRefused);
  });

  it('runs as `undo <id>` and `--undo <id>` from the CLI, exit 3 on conflicts', async () => {
    const tenant = await ctx.newOrganisation();
    const copy = join(dir, 'cli-prospects.db');
    copyFileSync(prospectsDb(), copy);
    const importId = (await consolidate(ctx.pool, { databases: findDatabases([copy]), tenant })).importId!;
    const cwd = join(import.meta.dirname, '..');
    const env = { ...process.env, DATABASE_URL: ctx.appUrl };
    const cli = (args: string[]) => runGuardedScript('src/cli.ts', args, { env, cwd });
    expect((await cli(['undo', '--help'])).stdout).toMatch(/^Usage: import:sqlite undo/);
    const dry = await cli(['--undo', importId, '--organisation', tenant.organisationId, '--dry-run']);
    expect(dry.stdout).toMatch(/crm\.positions\s+1\s+0\s+0/);
    // The usage's `--undo <id> … [--json]`, and `--undo=<id>`: the undo command's own options.
    const json = await cli([
      '--undo',
      importId,
      '--organisation',
      tenant.organisationId,
      '--dry-run',
      '--json',
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({ importId, dryRun: true, applied: false });
    const inline = await cli([`--undo=${importId}`, '--organisation', tenant.organisationId, '--dry-run']);
    expect(inline.stdout).toMatch(/^DRY RUN/);
    // An unknown option is refused with the usage, exit 2, before anything is done.
    for (const args of [
      ['undo', importId, '--organisation', tenant.organisationId, '--bogus'],
      ['--bogus'],
      ['export', '--organisation', tenant.organisationId, '--bogus'],
    ]) {
      const refused = (await cli(args).catch((e) => e)) as { code: number; stdout: string; stderr: string };
      expect({ code: refused.code, stdout: refused.stdout }, args.join(' ')).toEqual({ code: 2, stdout: '' });
      expect(refused.stderr).toMatch(/Unknown option '--bogus'[\s\S]*Usage/);
    }
    expect(await ctx.count(tenant, 'crm.positions')).toBe(1);
    await ctx.query(tenant, `UPDATE crm.people SET first_name = 'Changed'`);
    const conflict = await cli(['undo', importId, '--organisation', tenant.organisationId]).catch((e) => e);
    expect(conflict.code).toBe(3);
    expect(conflict.stdout).toMatch(/crm\.people [0-9a-f-]{36}: changed_since/);
    await ctx.query(tenant, `UPDATE crm.people SET first_name = 'Ada'`);
    // Still a conflict: the row is back to its values but it was changed (updated_at moved) since.
    expect(
      (
        (await cli(['undo', importId, '--organisation', tenant.organisationId]).catch((e) => e)) as {
          code: number;
        }
      ).code,
    ).toBe(3);
    // Several CLI processes one after the other (each a tsx start): slow on a shared machine.
  }, 120_000);
});
