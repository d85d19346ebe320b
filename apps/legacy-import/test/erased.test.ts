import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadSubjectKeys,
  normaliseSubjectName,
  subjectHmac,
  subjectNameHmac,
} from '@prospectflow/outreach-core';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consolidate } from '../src/consolidate.js';
import { findDatabases } from '../src/sources.js';
import { setupLegacyDb } from './helpers.js';

// An erased person does not come back with a re-consolidation (Art. 17), by the same rule as the
// erasure itself (app.subject_owns): one of their addresses (non-ASCII included), or their full
// name as whole words (any Unicode normal form) on a row carrying no other address.

let ctx: Awaited<ReturnType<typeof setupLegacyDb>>;
let dir: string;

const ROWS: Array<[number, string | null, string | null, string]> = [
  [1, 'Zoé Quillardet', 'zoe.q@quillardet.fr', 'first call'],
  [2, 'Zoé Quillardet', null, 'second call, no address on this row'],
  [3, 'Zoe\u0301 Quillardet', null, 'NFD, as macOS writes it'],
  [4, 'Ünal Şahin', 'ünal@şahin.fr', 'non-ASCII address'],
  [5, 'Zoé Quillardet', 'zoe@autre-quillardet.fr', 'a namesake: another address'],
  [6, 'Zoé Quillardetti', null, 'not her name'],
  [7, 'Bystander', 'else@example.fr', 'keep'],
  [8, null, null, 'RDV avec ZOÉ QUILLARDET, mardi'],
];

beforeAll(async () => {
  ctx = await setupLegacyDb('legacy_erased');
  dir = mkdtempSync(join(tmpdir(), 'pf-erased-'));
  const db = new Database(join(dir, 'crm_notes.db'));
  db.exec('CREATE TABLE call_notes (id INTEGER PRIMARY KEY, lead_name TEXT, email TEXT, note TEXT)');
  const insert = db.prepare('INSERT INTO call_notes VALUES (?, ?, ?, ?)');
  for (const row of ROWS) insert.run(...row);
  db.close();
});
afterAll(async () => {
  await ctx?.close();
});

describe('re-consolidation after an erasure', () => {
  it('refuses the erased people’s rows: by address, non-ASCII too, and by full name without another address', async () => {
    const tenant = await ctx.newOrganisation();
    const keys = loadSubjectKeys();
    const databases = findDatabases([dir]);
    const first = await consolidate(ctx.pool, { databases, tenant, subjectKeys: keys });
    expect(first.status, first.error).toBe('succeeded');
    const keysLeft = async () =>
      (
        await ctx.query<{ source_key: string }>(
          tenant,
          'SELECT source_key FROM legacy.archive_rows ORDER BY source_key::int',
        )
      ).map((r) => r.source_key);
    expect(await keysLeft()).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);

    // What the API's erasure (apps/ingest-api privacy/erasure.ts) writes for two people: the keyed
    // hashes of their addresses and full names, then the archive's rows go.
    const people = [
      { email: 'zoe.q@quillardet.fr', name: 'Zoé Quillardet' },
      { email: 'ünal@şahin.fr', name: 'Ünal Şahin' },
    ];
    for (const { email, name } of people) {
      await ctx.query(
        tenant,
        `INSERT INTO outreach.suppression_hashes (key_version, email_hmac, reason) VALUES ($1, $2, 'erasure')`,
        [keys.current.version, subjectHmac(email, keys.current)],
      );
      await ctx.query(tenant, 'INSERT INTO legacy.erased_names (key_version, name_hmac) VALUES ($1, $2)', [
        keys.current.version,
        subjectNameHmac(normaliseSubjectName(name)!, keys.current),
      ]);
    }
    const erased = await ctx.query<{ n: number }>(tenant, 'SELECT app.erase_legacy_subject($1, $2) AS n', [
      people.map((p) => p.email),
      people.map((p) => p.name),
    ]);
    expect(erased[0]!.n).toBe(5);
    expect(await keysLeft()).toEqual(['5', '6', '7']);

    const again = await consolidate(ctx.pool, { databases, tenant, subjectKeys: keys });
    expect(again.status, again.error).toBe('succeeded');
    const table = again.databases[0]!.tables.find((t) => t.table === 'call_notes')!;
    expect(table.archive?.rejectedReasons.erased_subject).toBe(5);
    expect(await keysLeft()).toEqual(['5', '6', '7']);
  });
});

describe('typed contacts after an erasure', () => {
  it('refuses a contact naming an erased person without an address, and keeps a namesake with another address', async () => {
    const tenant = await ctx.newOrganisation();
    const keys = loadSubjectKeys();
    const store = mkdtempSync(join(tmpdir(), 'pf-erased-contacts-'));
    const db = new Database(join(store, 'prospects.db'));
    db.exec(`CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT);
      INSERT INTO companies VALUES (1, 'Quillardet Conseil');
      CREATE TABLE contacts (id INTEGER PRIMARY KEY, company_id INTEGER, first_name TEXT, last_name TEXT, email TEXT);`);
    const contact = db.prepare('INSERT INTO contacts VALUES (?, 1, ?, ?, ?)');
    contact.run(1, 'Zoé', 'Quillardet', null);
    contact.run(2, 'Zoé', 'Quillardet', 'zoe@autre-quillardet.fr');
    contact.run(3, 'Bruno', 'Durand', null);
    db.close();
    // What the erasure of Zoé Quillardet (by person id: she had no address) leaves behind.
    await ctx.query(tenant, 'INSERT INTO legacy.erased_names (key_version, name_hmac) VALUES ($1, $2)', [
      keys.current.version,
      subjectNameHmac(normaliseSubjectName('Zoé Quillardet')!, keys.current),
    ]);

    const run = await consolidate(ctx.pool, { databases: findDatabases([store]), tenant, subjectKeys: keys });
    expect(run.status, run.error).toBe('succeeded');
    const contacts = run.databases[0]!.tables.find((t) => t.table === 'contacts')!;
    expect(contacts.typed?.skippedReasons.erased_subject).toBe(1);
    const people = await ctx.query<{ name: string; email: string | null }>(
      tenant,
      `SELECT p.first_name || ' ' || p.last_name AS name, pos.email::text AS email
         FROM crm.people p LEFT JOIN crm.positions pos ON pos.person_id = p.id ORDER BY 1, 2`,
    );
    expect(people).toEqual([
      { name: 'Bruno Durand', email: null },
      { name: 'Zoé Quillardet', email: 'zoe@autre-quillardet.fr' },
    ]);
  });
});
