import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  createImport,
  getImport,
  ImportAlreadyFinished,
  importStorageKey,
  inTenantUnit,
  listImportErrors,
  runImport,
  runStoredImport,
  undoImport,
} from '@prospectflow/import-engine';
import { createLocalStorage } from '@prospectflow/object-storage';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PHAROW_HEADER, pharowRow, setupImportDb, siren, toCsv, untilOneWaitsOnALock } from './helpers.js';

let ctx: Awaited<ReturnType<typeof setupImportDb>>;

beforeAll(async () => {
  ctx = await setupImportDb('imports_engine');
});
afterAll(async () => {
  await ctx?.close();
});

describe('CSV import engine', () => {
  it('imports a Pharow export: normalised companies, people and positions', async () => {
    const tenant = await ctx.newOrganisation();
    ctx.tenant.organisationId = tenant.organisationId;
    const csv = toCsv([
      PHAROW_HEADER,
      pharowRow(1),
      pharowRow(2, { 'Code NAF': '62.02A', Téléphone: '+33 (0)1 23 45 67 89' }),
    ]);
    const { outcome, importId } = await ctx.importCsv(`\uFEFF${csv}`);
    expect(outcome).toMatchObject({
      status: 'succeeded',
      counts: { total: 2, inserted: 2, updated: 0, skipped: 0, failed: 0 },
    });
    const companies = await ctx.query<{
      name: string;
      siren: string;
      naf_code: string;
      domain: string;
      website_url: string;
    }>(tenant, 'SELECT name, siren, naf_code, domain::text, website_url FROM crm.companies ORDER BY name');
    expect(companies).toEqual([
      {
        name: 'Société 1',
        siren: siren(10_000_001),
        naf_code: '62.01Z',
        domain: 'societe1.fr',
        website_url: 'https://www.societe1.fr',
      },
      {
        name: 'Société 2',
        siren: siren(10_000_002),
        naf_code: '62.02A',
        domain: 'societe2.fr',
        website_url: 'https://www.societe2.fr',
      },
    ]);
    const positions = await ctx.query<{ email: string; phone: string; first_name: string }>(
      tenant,
      `SELECT p.email::text, p.phone, pe.first_name FROM crm.positions p JOIN crm.people pe ON pe.id = p.person_id ORDER BY p.email`,
    );
    expect(positions).toEqual([
      { email: 'contact1@societe1.fr', phone: '+33612340178', first_name: 'Prénom1' },
      { email: 'contact2@societe2.fr', phone: '+33123456789', first_name: 'Prénom2' },
    ]);
    const record = await getImport(ctx.pool, tenant, importId);
    expect(record).toMatchObject({ status: 'succeeded', progress: { rowsProcessed: 2, rowsTotal: 2 } });
  });

  it('reads Latin-1 (windows-1252) files with comma delimiters and re-imports as updates', async () => {
    const tenant = await ctx.newOrganisation();
    ctx.tenant.organisationId = tenant.organisationId;
    const rows = [PHAROW_HEADER, pharowRow(7, { Poste: 'Responsable qualité' })];
    const { outcome } = await ctx.importCsv(iconv.encode(toCsv(rows, ','), 'win1252'));
    expect(outcome).toMatchObject({ status: 'succeeded', counts: { inserted: 1 } });
    const again = await ctx.importCsv(
      toCsv([PHAROW_HEADER, pharowRow(7, { Poste: 'Directrice qualité' })], ','),
    );
    expect(again.outcome).toMatchObject({ status: 'succeeded', counts: { inserted: 0, updated: 1 } });
    const titles = await ctx.query<{ title: string; name: string }>(
      tenant,
      'SELECT p.title, c.name FROM crm.positions p JOIN crm.companies c ON c.id = p.company_id',
    );
    expect(titles).toEqual([{ title: 'Directrice qualité', name: 'Société 7' }]);
    expect(await ctx.count(tenant, 'crm.companies')).toBe(1);
    expect(await ctx.count(tenant, 'crm.people')).toBe(1);
  });

  it('records per-row errors, skips duplicates and suppressed emails, and imports the good rows', async () => {
    const tenant = await ctx.newOrganisation();
    ctx.tenant.organisationId = tenant.organisationId;
    await ctx.query(
      tenant,
      `INSERT INTO outreach.suppressions (email, reason) VALUES ('contact4@societe4.fr', 'unsubscribed')`,
    );
    const csv = toCsv([
      PHAROW_HEADER,
      pharowRow(1),
      pharowRow(2, { SIREN: '123456789' }), // bad check digit
      pharowRow(3, { Email: 'not-an-email' }),
      pharowRow(4),
      pharowRow(5, { "Nom de l'entreprise": '=HYPERLINK("http://evil")' }),
      pharowRow(1, { Prénom: 'Dup' }),
      pharowRow(6, { 'Code NAF': '62X', Téléphone: '12' }),
    ]);
    const { outcome, importId } = await ctx.importCsv(csv);
    expect(outcome).toMatchObject({
      status: 'succeeded',
      counts: { total: 7, inserted: 1, skipped: 2, failed: 4 },
    });
    const { items } = await listImportErrors(ctx.pool, tenant, importId, { limit: 50 });
    const seen = items.map((e) => [e.rowNumber, e.column, e.code, e.kind]);
    seen.sort((a, b) => Number(a[0]) - Number(b[0]) || String(a[2]).localeCompare(String(b[2])));
    expect(seen).toEqual([
      [3, 'SIREN', 'invalid_siren', 'failed'],
      [4, 'Email', 'invalid_email', 'failed'],
      [5, 'Email', 'suppressed', 'skipped'],
      [6, "Nom de l'entreprise", 'formula_injection', 'failed'],
      [7, 'Email', 'duplicate_in_file', 'skipped'],
      [8, 'Code NAF', 'invalid_naf', 'failed'],
      [8, 'Téléphone', 'invalid_phone', 'failed'],
    ]);
    expect(await ctx.count(tenant, 'crm.positions')).toBe(1);
    expect(await ctx.count(tenant, 'crm.companies')).toBe(1);
  });

  it('fails the whole import and commits nothing when the file breaks midway', async () => {
    const tenant = await ctx.newOrganisation();
    const rows = [PHAROW_HEADER, ...Array.from({ length: 3000 }, (_, i) => pharowRow(i))];
    // Streamed (not pre-scanned) sources decide the encoding from the first bytes; a bad byte far
    // into the file then fails the import after thousands of rows were already staged.
    const bytes = Buffer.concat([Buffer.from(toCsv(rows)), Buffer.from([0xff, 0x3b, 0x0a])]);
    const record = await createImport(ctx.pool, tenant, { sourceKind: 'csv' });
    const outcome = await runImport(ctx.pool, {
      importId: record.id,
      tenant,
      source: {
        kind: 'csv',
        open: () => Readable.from([bytes.subarray(0, 100_000), bytes.subarray(100_000)]),
        encoding: { encoding: 'utf8', bomLength: 0 },
        delimiter: ';',
      },
    });
    expect(outcome).toMatchObject({ status: 'failed', code: 'invalid_encoding' });
    expect(await getImport(ctx.pool, tenant, record.id)).toMatchObject({
      status: 'failed',
      error: { code: 'invalid_encoding' },
      counts: { inserted: 0, updated: 0, skipped: 0, failed: 0 },
    });
    for (const table of ['crm.companies', 'crm.people', 'crm.positions', 'crm.import_errors']) {
      expect(await ctx.count(tenant, table)).toBe(0);
    }
  });

  it('publishes progress while the data stays invisible until the single commit', async () => {
    const tenant = await ctx.newOrganisation();
    const first = toCsv([PHAROW_HEADER, ...Array.from({ length: 2100 }, (_, i) => pharowRow(i))]);
    const rest = toCsv(Array.from({ length: 100 }, (_, i) => pharowRow(2100 + i)));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* source() {
      yield Buffer.from(first);
      await gate; // hold the import open mid-file until the test has looked at it
      yield Buffer.from(rest);
    }
    const record = await createImport(ctx.pool, tenant, { sourceKind: 'csv' });
    const running = runImport(ctx.pool, {
      importId: record.id,
      tenant,
      progressIntervalMs: 20,
      source: {
        kind: 'csv',
        open: () => Readable.from(source()),
        encoding: { encoding: 'utf8', bomLength: 0 },
        delimiter: ';',
      },
    });
    let seen = await getImport(ctx.pool, tenant, record.id);
    while ((seen?.progress.rowsProcessed ?? 0) < 2048) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen = await getImport(ctx.pool, tenant, record.id);
    }
    expect(seen).toMatchObject({ status: 'running', progress: { rowsTotal: null } });
    expect(await ctx.count(tenant, 'crm.positions')).toBe(0);
    release();
    await expect(running).resolves.toMatchObject({
      status: 'succeeded',
      counts: { total: 2200, inserted: 2200 },
    });
    expect(await getImport(ctx.pool, tenant, record.id)).toMatchObject({
      status: 'succeeded',
      progress: { rowsProcessed: 2200, rowsTotal: 2200 },
    });
    expect(await ctx.count(tenant, 'crm.positions')).toBe(2200);
  });

  it('a second attempt of a running import (its worker lost the lease) waits for the first, then stops', async () => {
    const tenant = await ctx.newOrganisation();
    const csv = toCsv([PHAROW_HEADER, ...Array.from({ length: 2100 }, (_, i) => pharowRow(i))]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* held() {
      yield Buffer.from(csv);
      await gate; // the first attempt stays open until the second has started
    }
    const record = await createImport(ctx.pool, tenant, { sourceKind: 'csv' });
    const attempt = (open: () => Readable) =>
      runImport(ctx.pool, {
        importId: record.id,
        tenant,
        progressIntervalMs: 20,
        source: { kind: 'csv', open, encoding: { encoding: 'utf8', bomLength: 0 }, delimiter: ';' },
      });
    const earlier = attempt(() => Readable.from(held()));
    while (((await getImport(ctx.pool, tenant, record.id))?.progress.rowsProcessed ?? 0) < 2048) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const later = attempt(() => Readable.from([Buffer.from(csv)]));
    later.catch(() => {}); // asserted below
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    await expect(earlier).resolves.toMatchObject({ status: 'succeeded', counts: { inserted: 2100 } });
    await expect(later).rejects.toBeInstanceOf(ImportAlreadyFinished);
    expect(await getImport(ctx.pool, tenant, record.id)).toMatchObject({
      status: 'succeeded',
      error: null,
      counts: { inserted: 2100, failed: 0 },
    });
    expect(await ctx.count(tenant, 'crm.positions')).toBe(2100);
  });

  it('two imports of the same rows into one organisation at once both succeed: the later one updates', async () => {
    const tenant = await ctx.newOrganisation();
    const csv = toCsv([PHAROW_HEADER, ...Array.from({ length: 50 }, (_, i) => pharowRow(5000 + i))]);
    const start = async (beforeCommit?: () => Promise<void>) => {
      const record = await createImport(ctx.pool, tenant, { sourceKind: 'csv' });
      return runImport(ctx.pool, {
        importId: record.id,
        tenant,
        source: {
          kind: 'csv',
          open: () => Readable.from([Buffer.from(csv)]),
          encoding: { encoding: 'utf8', bomLength: 0 },
          delimiter: ';',
        },
        ...(beforeCommit ? { beforeCommit } : {}),
      });
    };
    // The first holds its commit until the second waits on it (for its turn, or on the keys).
    let held!: () => void;
    let release!: () => void;
    const holding = new Promise<void>((resolve) => {
      held = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = start(async () => {
      held();
      await released;
    });
    await holding;
    // Started outside the first's unit (inside it, it would join that transaction).
    const later = start();
    later.catch(() => {}); // asserted below
    await untilOneWaitsOnALock(ctx.admin, 'the second import (the first holding its commit)');
    release();
    await expect(first).resolves.toMatchObject({ status: 'succeeded', counts: { inserted: 50 } });
    await expect(later).resolves.toMatchObject({ status: 'succeeded', counts: { inserted: 0, updated: 50 } });
    expect(await ctx.count(tenant, 'crm.companies')).toBe(50);
    expect(await ctx.count(tenant, 'crm.positions')).toBe(50);
  });

  it('a company another connection commits while the import writes is matched on the next attempt, not a failure', async () => {
    const tenant = await ctx.newOrganisation();
    const csv = toCsv([PHAROW_HEADER, pharowRow(7000), pharowRow(7001)]);
    const record = await createImport(ctx.pool, tenant, { sourceKind: 'csv' });
    const attempt = (last: boolean) =>
      runImport(ctx.pool, {
        importId: record.id,
        tenant,
        source: {
          kind: 'csv',
          open: () => Readable.from([Buffer.from(csv)]),
          encoding: { encoding: 'utf8', bomLength: 0 },
          delimiter: ';',
        },
        throwTransient: !last,
      });
    // The API creates the first row's company (same SIREN) and commits while the import waits on it.
    const api = await ctx.pool.connect();
    try {
      await api.query('BEGIN');
      await api.query(`SELECT set_config('app.organisation_id', $1, true)`, [tenant.organisationId]);
      await api.query(`INSERT INTO crm.companies (name, siren) VALUES ('Made by the API', $1)`, [
        siren(10_000_000 + 7000),
      ]);
      const first = attempt(false);
      first.catch(() => {}); // asserted below
      await untilOneWaitsOnALock(ctx.admin, 'the import (an API insert of its company open)');
      await api.query('COMMIT');
      // Not a failure of the data: the attempt is handed back (the worker retries the task).
      await expect(first).rejects.toMatchObject({ code: '23505' });
    } finally {
      api.release();
    }
    expect((await getImport(ctx.pool, tenant, record.id))?.status).not.toBe('failed');
    // Both rows imported; the first row's company is the one the API made, not a second one.
    await expect(attempt(true)).resolves.toMatchObject({ status: 'succeeded', counts: { inserted: 2 } });
    expect(await ctx.count(tenant, 'crm.companies')).toBe(2);
    expect(await ctx.count(tenant, 'crm.positions')).toBe(2);
  });

  it('an undo started while a later import of the same rows commits waits for it, then refuses', async () => {
    const tenant = await ctx.newOrganisation();
    const run = async (rows: string[][], beforeCommit?: () => Promise<void>) => {
      const record = await createImport(ctx.pool, tenant, { sourceKind: 'csv' });
      const outcome = await runImport(ctx.pool, {
        importId: record.id,
        tenant,
        source: {
          kind: 'csv',
          open: () => Readable.from([Buffer.from(toCsv([PHAROW_HEADER, ...rows]))]),
          encoding: { encoding: 'utf8', bomLength: 0 },
          delimiter: ';',
        },
        ...(beforeCommit ? { beforeCommit } : {}),
      });
      return { id: record.id, outcome };
    };
    const first = await run(Array.from({ length: 20 }, (_, i) => pharowRow(6000 + i)));
    let held!: () => void;
    let release!: () => void;
    const holding = new Promise<void>((resolve) => {
      held = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const later = run(
      Array.from({ length: 20 }, (_, i) => pharowRow(6000 + i, { Poste: 'CEO' })),
      async () => {
        held();
        await released;
      },
    );
    await holding;
    const undo = inTenantUnit(ctx.pool, tenant, (client) => undoImport(client, first.id));
    undo.catch(() => {}); // asserted below
    await untilOneWaitsOnALock(ctx.admin, 'the undo (a later import holding its commit)');
    release();
    await expect(later).resolves.toMatchObject({ outcome: { status: 'succeeded', counts: { updated: 20 } } });
    // It plans once the later import has committed: the rows changed since, nothing is undone
    // (it deleted the rows the later import had just reported as updated).
    const report = await undo;
    expect(report.applied).toBe(false);
    expect(report.conflicts.length).toBeGreaterThan(0);
    expect(await ctx.count(tenant, 'crm.companies')).toBe(20);
    const titles = await ctx.query<{ title: string }>(tenant, 'SELECT DISTINCT title FROM crm.positions');
    expect(titles).toEqual([{ title: 'CEO' }]);
  });

  it('an upload still unreadable on the last attempt fails the import and leaves the storage', async () => {
    const tenant = await ctx.newOrganisation();
    const folder = mkdtempSync(join(tmpdir(), 'pf-unreadable-'));
    const storage = createLocalStorage(folder);
    try {
      const id = crypto.randomUUID();
      const key = importStorageKey(tenant.organisationId, id, 'json');
      await storage.put(key, '[{"email":'); // cut short: never parses
      await createImport(ctx.pool, tenant, { id, sourceKind: 'json', storageKey: key });
      const job = { tenant, importId: id, maxAttempts: 2, runBy: 'test-worker' };
      // Not the last attempt: thrown, to be retried from the stored file.
      await expect(runStoredImport(ctx.pool, storage, { ...job, attempt: 1 })).rejects.toThrow(/JSON/);
      expect(await storage.head(key)).not.toBeNull();
      // The last one records the failure, and the upload (personal data) goes.
      await expect(runStoredImport(ctx.pool, storage, { ...job, attempt: 2 })).resolves.toMatchObject({
        status: 'failed',
        code: 'import_failed',
      });
      expect(await getImport(ctx.pool, tenant, id)).toMatchObject({ status: 'failed' });
      expect(await storage.head(key)).toBeNull();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('imports JSON rows with a custom mapping and keeps organisations apart', async () => {
    const a = await ctx.newOrganisation();
    const b = await ctx.newOrganisation();
    const rows = [
      { org: 'Acme', mail: 'Jane@Acme.io', first: 'Jane', site: 'acme.io' },
      { org: 'Acme', mail: 'joe@acme.io', first: 'Joe', site: 'https://acme.io/fr' },
      { org: 'Nobody', mail: 'x@gmail.com', first: 'X' },
      'not an object',
    ];
    const mapping = { org: 'company_name', mail: 'email', first: 'first_name', site: 'company_website' };
    const record = await createImport(ctx.pool, a, { sourceKind: 'json' });
    const outcome = await runImport(ctx.pool, {
      importId: record.id,
      tenant: a,
      mapping,
      source: { kind: 'json', rows },
    });
    expect(outcome).toMatchObject({ status: 'succeeded', counts: { total: 4, inserted: 2, failed: 2 } });
    const { items } = await listImportErrors(ctx.pool, a, record.id, { limit: 10 });
    expect(items.map((e) => [e.rowNumber, e.code])).toEqual([
      [3, 'missing_company_key'],
      [4, 'invalid_row'],
    ]);
    expect(await ctx.count(a, 'crm.companies')).toBe(1);
    expect(await ctx.count(b, 'crm.companies')).toBe(0);
    expect(await getImport(ctx.pool, b, record.id)).toBeNull();
  });
});
