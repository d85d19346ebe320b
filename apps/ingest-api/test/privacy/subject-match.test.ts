import { loadSubjectKeys, subjectNameHmac } from '@prospectflow/outreach-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

// What belongs to a data subject (app.subject_owns, migration 1005), the same for the erasure
// (Art. 17) and the access export (Art. 15): one of the person's addresses (any of them, NFC,
// case-insensitive, non-ASCII included), or their full name as whole words in a record that
// carries no other address.

let t: TestApp;
let admin: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'subject_match' });
  admin = await t.signUp('owner@subject-match.test');
});
afterAll(async () => {
  await t?.close();
});

let companies = 0;
async function company(): Promise<string> {
  const domain = `company${++companies}.test`;
  const c = await t.request(admin, {
    method: 'POST',
    url: '/v1/companies',
    payload: { name: domain, domain },
  });
  expect(c.statusCode, c.body).toBe(201);
  return c.json().id;
}

/** A person with one position per address; returns the person id and the position ids. */
async function person(firstName: string, lastName: string, emails: string[]) {
  const p = await t.request(admin, { method: 'POST', url: '/v1/people', payload: { firstName, lastName } });
  expect(p.statusCode, p.body).toBe(201);
  const positionIds: string[] = [];
  for (const email of emails) {
    const pos = await t.request(admin, {
      method: 'POST',
      url: '/v1/positions',
      payload: { personId: p.json().id, companyId: await company(), email },
    });
    expect(pos.statusCode, pos.body).toBe(201);
    positionIds.push(pos.json().id);
  }
  return { id: p.json().id as string, positionIds };
}

async function archive(sourceKey: string, original: Record<string, unknown>) {
  await t.admin.query(
    `INSERT INTO legacy.archive_rows (organisation_id, import_id, source_database, source_table, source_key, original)
     VALUES ($1, gen_random_uuid(), 'old.db', 'contacts', $2, $3)`,
    [admin.organisationId, sourceKey, original],
  );
}

/** A failed file row: one error row per [column, raw value]. */
async function importErrors(rows: Array<Array<[string, string]>>): Promise<void> {
  const { rows: imported } = await t.admin.query<{ id: string }>(
    `INSERT INTO crm.imports (organisation_id, source_kind, status, file_name) VALUES ($1, 'csv', 'succeeded', 'f.csv')
     RETURNING id`,
    [admin.organisationId],
  );
  for (const [index, row] of rows.entries()) {
    for (const [column, value] of row) {
      await t.admin.query(
        `INSERT INTO crm.import_errors (organisation_id, import_id, row_number, column_name, code, message, raw_value)
         VALUES ($1, $2, $3, $4, 'invalid_value', 'test', $5)`,
        [admin.organisationId, imported[0]!.id, index + 1, column, value],
      );
    }
  }
}

const exportOf = async (email: string) => {
  const r = await t.request(admin, {
    method: 'GET',
    url: `/v1/privacy/subjects?email=${encodeURIComponent(email)}`,
  });
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
};
const erase = async (email: string) => {
  const r = await t.request(admin, { method: 'POST', url: '/v1/privacy/erasures', payload: { email } });
  expect(r.statusCode, r.body).toBe(201);
  return r.json().removed as Record<string, number>;
};
/** Carries out the one pending erasure request as an admin does: finds it, erases by its id. */
const erasePendingRequest = async () => {
  const requests = await t.request(admin, {
    method: 'GET',
    url: '/v1/privacy/erasure-requests?status=pending',
  });
  const requestId = requests.json().items[0].id;
  return await t.request(admin, { method: 'POST', url: '/v1/privacy/erasures', payload: { requestId } });
};
const archived = async () =>
  (
    await t.admin.query<{ source_key: string }>(
      'SELECT source_key FROM legacy.archive_rows WHERE organisation_id = $1 ORDER BY source_key',
      [admin.organisationId],
    )
  ).rows.map((r) => r.source_key);
const errorValues = async () =>
  (
    await t.admin.query<{ raw_value: string }>(
      'SELECT raw_value FROM crm.import_errors WHERE organisation_id = $1 ORDER BY raw_value',
      [admin.organisationId],
    )
  ).rows.map((r) => r.raw_value);
const clear = async () => {
  await t.admin.query('DELETE FROM legacy.archive_rows WHERE organisation_id = $1', [admin.organisationId]);
  await t.admin.query('DELETE FROM crm.imports WHERE organisation_id = $1', [admin.organisationId]);
};

/** Step 1 of a campaign sent to the position at `to` (what the worker leaves), with this unsubscribe token. */
let campaigns = 0;
async function sentTo(positionIds: string[], to: string, token: string): Promise<void> {
  const mailbox = await t.request(admin, {
    method: 'POST',
    url: '/v1/mailboxes',
    payload: { fromName: 'Sales', fromAddress: `sales${++campaigns}@subject-match.test` },
  });
  const campaign = await t.request(admin, {
    method: 'POST',
    url: '/v1/campaigns',
    payload: {
      name: `C${campaigns}`,
      mailboxId: mailbox.json().id,
      steps: [{ delayDays: 0, subject: 'Hi', body: 'Hi' }],
    },
  });
  const enrolled = await t.request(admin, {
    method: 'POST',
    url: `/v1/campaigns/${campaign.json().id}/enrollments`,
    payload: { positionIds },
  });
  expect(enrolled.statusCode, enrolled.body).toBe(200);
  await t.admin.query(
    `INSERT INTO outreach.messages (organisation_id, enrollment_id, step_id, mailbox_id, direction, status,
       message_id_header, to_address, subject, body_text, unsubscribe_token, sent_at)
     VALUES ($1, $2, $3, $4, 'outbound', 'sent', $5, $6, 'Hi', 'Bonjour', $7, now())`,
    [
      admin.organisationId,
      enrolled.json().enrolled[0].enrollmentId,
      campaign.json().steps[0].id,
      mailbox.json().id,
      `<${token}@subject-match.test>`,
      to,
      token,
    ],
  );
}

/** Every table (superuser) with a row whose text mentions `needle`. */
async function tablesMentioning(needle: string): Promise<string[]> {
  const { rows: tables } = await t.admin.query<{ t: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`,
  );
  const hits: string[] = [];
  for (const { t: table } of tables) {
    const { rows } = await t.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} x WHERE x::text ILIKE '%' || $1 || '%'`,
      [needle],
    );
    if (rows[0]!.n > 0) hits.push(table);
  }
  return hits;
}

describe('what belongs to a data subject (erasure and export alike)', () => {
  // Each case starts with an empty archive and no import errors.
  beforeEach(clear);

  it('Jean Martin <jean.martin@alpha.fr> is not the other Jean Martin <jmartin@beta.fr>, nor Jean Martinez', async () => {
    await person('Jean', 'Martin', ['jean.martin@alpha.fr']);
    const other = await person('Jean', 'Martin', ['jmartin@beta.fr']);
    await archive('1', { name: 'Jean Martin', email: 'jean.martin@alpha.fr', phone: '+33611111111' });
    await archive('2', { name: 'Jean Martin', email: 'jmartin@beta.fr', phone: '+33622222222' });
    await archive('3', { name: 'Jean Martinez', email: 'jm@gamma.fr', phone: '+33633333333' });
    await archive('4', { note: 'Rappeler Jean Martinez mardi' });
    await archive('5', { note: 'RDV avec JEAN  MARTIN, mardi.' }); // his name, no address: his
    await importErrors([
      [
        ['name', 'Jean Martin'],
        ['email', 'jmartin@beta.fr'],
      ],
      [['name', 'Jean Martinez']],
      [['email', 'JEAN.MARTIN@ALPHA.FR']],
    ]);

    const doc = await exportOf('jean.martin@alpha.fr');
    expect(doc.legacyRecords.map((r: { source_key: string }) => r.source_key)).toEqual(['1', '5']);
    expect(doc.importErrors.map((e: { raw_value: string }) => e.raw_value)).toEqual(['JEAN.MARTIN@ALPHA.FR']);

    const removed = await erase('jean.martin@alpha.fr');
    expect(removed).toMatchObject({ legacy: 2, 'crm.import_errors': 1, 'crm.people': 1 });
    expect(await archived()).toEqual(['2', '3', '4']);
    expect(await errorValues()).toEqual(['Jean Martin', 'Jean Martinez', 'jmartin@beta.fr']);
    const still = await t.request(admin, { method: 'GET', url: `/v1/people/${other.id}` });
    expect(still.statusCode).toBe(200);
  });

  it('matches names whatever their Unicode normal form (NFD "Zoé" as macOS writes it) and case', async () => {
    await person('Zoe\u0301', 'Quillardet', ['zoe@quillardet.test']);
    await archive('1', { who: 'Zo\u00e9 Quillardet', note: 'no address on this row' }); // NFC
    await archive('2', { who: 'ZOÉ QUILLARDET' });
    await archive('3', { email: 'ZOE@QUILLARDET.TEST' });
    await archive('4', { who: 'Zoé Quillardetti' });
    await archive('5', { who: 'Zoe\u0301 Quillardet' }); // NFD on the archive's side too
    const doc = await exportOf('zoe@quillardet.test');
    expect(doc.legacyRecords.map((r: { source_key: string }) => r.source_key)).toEqual(['1', '2', '3', '5']);
    expect(await erase('zoe@quillardet.test')).toMatchObject({ legacy: 4 });
    expect(await archived()).toEqual(['4']);
    // The keyed hash of the normalised full name is what a later consolidation refuses.
    const keys = loadSubjectKeys();
    const names = await t.admin.query<{ key_version: number; name_hmac: Buffer }>(
      'SELECT key_version, name_hmac FROM legacy.erased_names WHERE organisation_id = $1',
      [admin.organisationId],
    );
    expect(names.rows).toContainEqual({
      key_version: keys.current.version,
      name_hmac: subjectNameHmac('zoé quillardet', keys.current),
    });
  });

  it('takes an internationalised address (RFC 6531) the CRM refuses but that is held elsewhere', async () => {
    // A rejected import cell and a legacy row hold "zoé@exemple.fr"; the person asks under it.
    await importErrors([[['email', 'Zoé@Exemple.fr']], [['email', 'zoe@exemple.fr']]]);
    await archive('1', { email: 'zoé@exemple.fr', note: 'salon 2019' });
    await archive('2', { email: 'zoe@exemple.fr' });
    const doc = await exportOf('ZOÉ@exemple.fr');
    // No person, no message: still found (what is held must not read as "nothing").
    expect(doc.subject.found).toBe(true);
    expect(doc.importErrors.map((e: { raw_value: string }) => e.raw_value)).toEqual(['Zoé@Exemple.fr']);
    expect(doc.legacyRecords.map((r: { source_key: string }) => r.source_key)).toEqual(['1']);
    expect(await erase('zoé@exemple.fr')).toMatchObject({ legacy: 1, 'crm.import_errors': 1 });
    expect(await archived()).toEqual(['2']);
    expect(await errorValues()).toEqual(['zoe@exemple.fr']);
    // Still an address: anything else is a 400 problem, and nothing is written.
    const ledgerSize = async () =>
      (await t.request(admin, { method: 'GET', url: '/v1/privacy/erasures?limit=200' })).json().items.length;
    const before = await ledgerSize();
    for (const email of ['zoé', 'zoé@exemple', 'zo é@exemple.fr', 'a\u0000@exemple.fr']) {
      const refused = await t.request(admin, {
        method: 'POST',
        url: '/v1/privacy/erasures',
        payload: { email },
      });
      expect(refused.statusCode, email).toBe(400);
      expect(refused.json().code).toBe('validation_failed');
    }
    expect(await ledgerSize()).toBe(before);
  });

  it('the export by one address lists every record the erasure by that address removes (all their addresses)', async () => {
    const A = 'lea@first-co.fr';
    const B = 'lea.perso@second-co.fr';
    await person('Léa', 'Vasseur', [A, B]);
    await importErrors([[['email', B]], [['email', 'somebody@else.fr']]]);
    await archive('1', { email: B, note: 'met at fair' });
    await archive('2', { email: 'somebody@else.fr' });
    const doc = await exportOf(A);
    expect(doc.records.positions.map((p: { email: string }) => p.email).sort()).toEqual([B, A].sort());
    expect(doc.importErrors.map((e: { raw_value: string }) => e.raw_value)).toEqual([B]);
    expect(doc.legacyRecords.map((r: { source_key: string }) => r.source_key)).toEqual(['1']);
    const removed = await erase(A);
    expect(removed['crm.import_errors']).toBe(doc.importErrors.length);
    expect(removed.legacy).toBe(doc.legacyRecords.length);
  });

  it('removes the importers’ source keys of the person (a legacy contacts table keyed by email)', async () => {
    const email = 'camille.keyed@keyed-co.fr';
    const subject = await person('Camille', 'Keyed', [email]);
    const bystander = await person('Paul', 'Autre', ['paul.autre@keyed-co.fr']);
    const key = `INSERT INTO crm.import_source_keys (organisation_id, source, source_table, source_key, target_table, target_id)
       VALUES ($1, 'sqlite:prospects', $2, $3, $4, $5)`;
    await t.admin.query(key, [
      admin.organisationId,
      'contacts',
      email,
      'crm.positions',
      subject.positionIds[0],
    ]);
    await t.admin.query(key, [admin.organisationId, 'people', '42', 'crm.people', subject.id]);
    await t.admin.query(key, [
      admin.organisationId,
      'notes',
      `["${email}",3]`,
      'outreach.prompts',
      subject.id,
    ]);
    await t.admin.query(key, [
      admin.organisationId,
      'contacts',
      'paul.autre@keyed-co.fr',
      'crm.positions',
      bystander.positionIds[0],
    ]);
    // The export lists what the erasure removes (found by the same rule).
    const doc = await exportOf(email);
    expect(doc.importSourceKeys.map((k: { source_key: string }) => k.source_key).sort()).toEqual(
      ['42', email, `["${email}",3]`].sort(),
    );
    expect(await erase(email)).toMatchObject({ 'crm.import_source_keys': 3 });
    const left = await t.admin.query<{ source_key: string }>(
      'SELECT source_key FROM crm.import_source_keys WHERE organisation_id = $1',
      [admin.organisationId],
    );
    expect(left.rows).toEqual([{ source_key: 'paul.autre@keyed-co.fr' }]);
    const everywhere = await t.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM crm.import_source_keys x WHERE x::text ILIKE '%camille.keyed%'`,
    );
    expect(everywhere.rows[0]!.n).toBe(0);
  });
  it('an address we wrote to them at is theirs too: corrected since, it still goes (plain suppression, messages)', async () => {
    const OLD = 'anouk.ancienne@relais-co.fr';
    const subject = await person('Anouk', 'Relais', [OLD]);
    await sentTo(subject.positionIds, OLD, 'subjectMatchRelaisAAAAAAAAAA');
    // The address is corrected; then the recipient asks for erasure from the old message's page.
    const patched = await t.request(admin, {
      method: 'PATCH',
      url: `/v1/positions/${subject.positionIds[0]}`,
      payload: { email: 'anouk.nouvelle@relais-co.fr' },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const page = await t.app.inject({
      method: 'POST',
      url: '/u/subjectMatchRelaisAAAAAAAAAA/erasure',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    expect(page.statusCode).toBe(200);
    const held = await t.admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outreach.suppressions WHERE email = $1',
      [OLD],
    );
    expect(held.rows[0]!.n).toBe(1);
    // The export by the new address shows the old one's suppression; the erasure removes it.
    const doc = await exportOf('anouk.nouvelle@relais-co.fr');
    expect(doc.suppressions).toContainEqual(
      expect.objectContaining({ reason: 'unsubscribed', matched_by: 'email' }),
    );
    const erased = await erasePendingRequest();
    expect(erased.statusCode, erased.body).toBe(201);
    expect(erased.json().removed).toMatchObject({ 'outreach.suppressions': 1, 'outreach.messages': 1 });
    expect(await tablesMentioning('anouk.ancienne')).toEqual([]);
  });
  it('a recipient’s request still erases their address when the person was deleted from the CRM meanwhile', async () => {
    const ADDRESS = 'basile.parti@depart-co.fr';
    const subject = await person('Basile', 'Parti', [ADDRESS]);
    await sentTo(subject.positionIds, ADDRESS, 'subjectMatchDepartAAAAAAAAAA');
    await importErrors([[['email', ADDRESS]]]);
    await archive('1', { email: ADDRESS, note: 'salon' });
    const page = await t.app.inject({
      method: 'POST',
      url: '/u/subjectMatchDepartAAAAAAAAAA/erasure',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    expect(page.statusCode).toBe(200);
    // An admin deletes the person instead of carrying the request out; later, the request.
    expect((await t.request(admin, { method: 'DELETE', url: `/v1/people/${subject.id}` })).statusCode).toBe(
      204,
    );
    const erased = await erasePendingRequest();
    expect(erased.statusCode, erased.body).toBe(201);
    expect(erased.json().removed).toMatchObject({
      'outreach.suppressions': 1,
      'crm.import_errors': 1,
      legacy: 1,
    });
    expect(await tablesMentioning('basile.parti')).toEqual([]);
  });
});
