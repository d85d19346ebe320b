import { runWithTenant } from '@prospectflow/tenant-context';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectAccess } from '../../src/privacy/subject-access.js';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { markMailboxVerified } from '../helpers/fixtures.js';
import { signedInbound } from '../helpers/inbound.js';
import { PHAROW_HEADER, pharowRow, toCsv } from '../imports/helpers.js';
import { type ImportBody, multipart, waitForImport } from '../imports/http-helpers.js';

// The subject: distinctive strings, searched for in every table after the erasure.
const EMAIL = 'Zoe.Quillardet@Quillardet-Conseil.fr';
const NEEDLES = ['quillardet', 'Zoé'];
const subjectRow = (overrides: Record<string, string> = {}) =>
  pharowRow(1, { Prénom: 'Zoé', Nom: 'Quillardet', Email: EMAIL, ...overrides });
// The subject twice (the second is a duplicate_in_file error row carrying the address), and a bystander.
const FILE = toCsv([PHAROW_HEADER, subjectRow(), pharowRow(2), subjectRow({ Poste: 'DG' })]);

let t: TestApp;
let admin: TestUser;
let member: TestUser;

/** The same file each time; a new idempotency key so the content de-duplication does not answer. */
async function importFile(key: string): Promise<ImportBody> {
  const body = multipart(FILE, {}, 'leads-2026.csv');
  const response = await t.request(admin, {
    method: 'POST',
    url: '/v1/imports',
    payload: body.payload,
    headers: { ...body.headers, 'idempotency-key': key },
  });
  expect(response.statusCode, response.body).toBe(202);
  return await waitForImport(t, admin, (response.json() as ImportBody).id);
}

/** Every row of every table of the application, as text, that mentions a needle (superuser). */
async function findEverywhere(needle: string): Promise<string[]> {
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
    if (rows[0]!.n > 0) hits.push(`${table}: ${rows[0]!.n}`);
  }
  return hits;
}

beforeAll(async () => {
  t = await buildTestApp({ label: 'erasure' });
  admin = await t.signUp('owner@erasure.test');
  await t.signUp('member@erasure.test');
  member = await t.join(admin, 'member', 'member@erasure.test');
});
afterAll(async () => {
  await t?.close();
});

describe('erasure (Art. 17), access (Art. 15) and provenance', () => {
  let personId: string;
  let positionId: string;

  it('records where each record came from and shows it in the API', async () => {
    const done = await importFile('first');
    expect(done).toMatchObject({ status: 'succeeded', counts: { inserted: 2, skipped: 1 } });
    const people = await t.request(admin, { method: 'GET', url: `/v1/people?email=${EMAIL}` });
    const person = people.json().items[0];
    personId = person.id;
    expect(person.provenance.created).toMatchObject({
      source: 'csv',
      importId: done.id,
      fileName: 'leads-2026.csv',
      userId: admin.userId,
    });
    const positions = await t.request(admin, { method: 'GET', url: `/v1/positions?personId=${personId}` });
    positionId = positions.json().items[0].id;
    // A change through the API becomes the "last changed" provenance; creation stays the import's.
    const patched = await t.request(admin, {
      method: 'PATCH',
      url: `/v1/positions/${positionId}`,
      payload: { title: 'Associée' },
    });
    expect(patched.json().provenance).toMatchObject({
      created: { source: 'csv', importId: done.id },
      updated: { source: 'api', importId: null, fileName: null, userId: admin.userId },
    });
  });

  it('exports everything held about the person, with sources, messages and events', async () => {
    const org = admin.organisationId;
    const mailbox = await t.request(admin, {
      method: 'POST',
      url: '/v1/mailboxes',
      payload: { fromName: 'Sales', fromAddress: 'sales@erasure.test' },
    });
    const campaign = await t.request(admin, {
      method: 'POST',
      url: '/v1/campaigns',
      payload: {
        name: 'Q1',
        mailboxId: mailbox.json().id,
        steps: [{ delayDays: 0, subject: 'Bonjour {{person.first_name}}', body: 'Hello' }],
      },
    });
    const campaignId = campaign.json().id;
    // Campaigns activate only on a verified mailbox, a relay one only while its domain is proved
    // (issue 16); verification itself is not under test here.
    await markMailboxVerified(t.admin, mailbox.json().id);
    const enrolled = await t.request(admin, {
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/enrollments`,
      payload: { positionIds: [positionId] },
    });
    const enrollmentId = enrolled.json().enrolled[0].enrollmentId;
    expect(
      (await t.request(admin, { method: 'POST', url: `/v1/campaigns/${campaignId}/activate` })).statusCode,
    ).toBe(200);
    // What the worker leaves after sending step 1: the message (body with the name) and its pixel.
    const header = '<erasure-1@erasure.test>';
    const message = await t.admin.query(
      `INSERT INTO outreach.messages (organisation_id, enrollment_id, step_id, mailbox_id, direction, status, message_id_header,
         to_address, subject, body_text, unsubscribe_token, sent_at)
       VALUES ($1, $2, $3, $4, 'outbound', 'sent', $5, $6, 'Bonjour Zoé', 'Hello Zoé Quillardet', 'unsubErasureAAAAAAAAAAAAAA', now())
       RETURNING id`,
      [org, enrollmentId, campaign.json().steps[0].id, mailbox.json().id, header, EMAIL.toLowerCase()],
    );
    await t.admin.query(
      'INSERT INTO tracking.pixels (organisation_id, message_id, token) VALUES ($1, $2, $3)',
      [org, message.rows[0].id, 'pixelErasureBBBBBBBBBBBBBBBB'],
    );
    await t.app.inject({
      method: 'GET',
      url: '/t/pixelErasureBBBBBBBBBBBBBBBB.gif',
      headers: { 'user-agent': 'Mozilla/5.0' },
    });
    await new Promise((resolve) => setTimeout(resolve, 200)); // the open is recorded after the answer
    const reply = await t.app.inject(
      signedInbound(
        {
          messageId: '<r@q.fr>',
          inReplyTo: header,
          from: EMAIL,
          subject: 'Re',
          text: 'Zoé ici',
        },
        'test-inbound-secret',
      ),
    );
    expect(reply.json()).toMatchObject({ matched: true, kind: 'reply' });

    // The SQLite consolidation archive (legacy-import) holds copies too: by address, by name, and a bystander.
    const archive = `INSERT INTO legacy.archive_rows (organisation_id, import_id, source_database, source_table, source_key, original)
       VALUES ($1, gen_random_uuid(), 'prospects.db', 'contacts', $2, $3)`;
    await t.admin.query(archive, [org, '1', { email: EMAIL.toUpperCase(), note: null }]);
    // Held exactly by jsonb; JSON.parse would round the first two (2^53 + 1, 17 significant digits).
    const exact =
      '{"full_name": "Zoé Quillardet", "age": 41, "rowid_big": 9007199254740993, "ratio": 0.30000000000000004, "max_safe": 9007199254740991, "huge": 1e21}';
    await t.admin.query(archive, [org, '2', exact]);
    await t.admin.query(archive, [org, '3', { full_name: 'Someone Else', email: 'else@example.fr' }]);
    expect(
      (await t.request(member, { method: 'GET', url: `/v1/privacy/subjects?email=${EMAIL}` })).statusCode,
    ).toBe(403);
    const exported = await t.request(admin, { method: 'GET', url: `/v1/privacy/subjects?email=${EMAIL}` });
    expect(exported.statusCode, exported.body).toBe(200);
    const doc = exported.json();
    expect(doc.records.people).toHaveLength(1);
    expect(doc.records.people[0]).toMatchObject({ first_name: 'Zoé', last_name: 'Quillardet' });
    expect(doc.records.people[0].last_inbound_at).not.toBeNull(); // the reply moved the retention clock
    expect(doc.records.positions[0].provenance.created.fileName).toBe('leads-2026.csv');
    expect(doc.records.companies).toHaveLength(1);
    expect(doc.enrollments).toHaveLength(1);
    expect(doc.messages.map((m: { direction: string }) => m.direction).sort()).toEqual([
      'inbound',
      'outbound',
    ]);
    expect(doc.events).toEqual([expect.objectContaining({ kind: 'open' })]);
    expect(doc.importErrors).toEqual([
      expect.objectContaining({ code: 'duplicate_in_file', file_name: 'leads-2026.csv' }),
    ]);
    expect(doc.legacyRecords.map((r: { source_key: string }) => r.source_key)).toEqual(['1', '2']);
    // Numbers JavaScript cannot hold exactly come as their digits; every other value as held.
    expect(doc.legacyRecords[1].original).toEqual({
      full_name: 'Zoé Quillardet',
      age: 41,
      rowid_big: '9007199254740993',
      ratio: '0.30000000000000004',
      max_safe: 9007199254740991,
      huge: 1e21,
    });
    expect(doc.controller.name).toBeTruthy();

    // The declared response schema (OpenAPI) loses nothing: the answer is the document as built.
    const built = await runWithTenant({ organisationId: admin.organisationId, userId: admin.userId }, () =>
      t.app.db.tenant((client) => subjectAccess(client, t.app.config.subjectKeys, EMAIL)),
    );
    const asJson = JSON.parse(JSON.stringify(built));
    expect({ ...doc, generatedAt: null }).toEqual({ ...asJson, generatedAt: null });
  });

  it('erases the person everywhere, keeps the counters, and audits without personal data', async () => {
    expect(
      (await t.request(member, { method: 'POST', url: '/v1/privacy/erasures', payload: { email: EMAIL } }))
        .statusCode,
    ).toBe(403);
    const org = admin.organisationId;
    for (const needle of NEEDLES) expect(await findEverywhere(needle)).not.toEqual([]);
    const stats =
      'SELECT sum(opened)::int AS opened, sum(replied)::int AS replied FROM tracking.campaign_daily_stats';
    const before = (await t.admin.query(stats)).rows[0];

    const erased = await t.request(admin, {
      method: 'POST',
      url: '/v1/privacy/erasures',
      payload: { email: EMAIL },
    });
    expect(erased.statusCode, erased.body).toBe(201);
    expect(erased.json().removed).toMatchObject({
      'crm.people': 1,
      'crm.positions': 1,
      'outreach.messages': 2,
      'tracking.open_events': 1,
      'crm.import_errors': 1,
      legacy: 2,
    });
    const kept = await t.admin.query(
      'SELECT source_key FROM legacy.archive_rows WHERE organisation_id = $1',
      [org],
    );
    expect(kept.rows).toEqual([{ source_key: '3' }]);
    for (const needle of NEEDLES) expect(await findEverywhere(needle), needle).toEqual([]);
    expect((await t.admin.query(stats)).rows[0]).toEqual(before);

    const ledger = await t.request(admin, { method: 'GET', url: '/v1/privacy/erasures' });
    expect(ledger.json().items).toEqual([
      expect.objectContaining({ id: erased.json().id, requestedBy: admin.userId }),
    ]);
    const audit = await t.request(admin, {
      method: 'GET',
      url: `/v1/audit?entity=crm.people&entityId=${personId}`,
    });
    // The reply moved the retention clock (a database write, no user); the erasure deleted the row.
    expect(audit.json().items, audit.body).toEqual([
      expect.objectContaining({
        action: 'delete',
        entityId: personId,
        actorUserId: admin.userId,
        changedFields: [],
      }),
      expect.objectContaining({ action: 'update', actorUserId: null, changedFields: ['last_inbound_at'] }),
    ]);
    const positionAudit = await t.request(admin, { method: 'GET', url: `/v1/audit?entityId=${positionId}` });
    expect(
      positionAudit
        .json()
        .items.map((a: { action: string; changedFields: string[] }) => [a.action, a.changedFields]),
    ).toEqual([
      ['delete', []],
      ['update', ['title']],
    ]);
    expect(JSON.stringify(positionAudit.json())).not.toMatch(/Associée|quillardet/i);
    expect((await t.request(member, { method: 'GET', url: '/v1/audit' })).statusCode).toBe(403);
  });

  it('no later import or API call brings them back', async () => {
    const again = await importFile('again');
    expect(again).toMatchObject({ status: 'succeeded', counts: { inserted: 0, updated: 1, skipped: 2 } });
    for (const needle of NEEDLES) expect(await findEverywhere(needle), needle).toEqual([]);
    const company = (await t.request(admin, { method: 'GET', url: '/v1/companies' })).json().items[0];
    const person = await t.request(admin, { method: 'POST', url: '/v1/people', payload: { lastName: 'X' } });
    const recreate = await t.request(admin, {
      method: 'POST',
      url: '/v1/positions',
      payload: { personId: person.json().id, companyId: company.id, email: EMAIL.toUpperCase() },
    });
    expect(recreate.statusCode).toBe(422);
    expect(recreate.json().code).toBe('subject_erased');
    // The access request now finds nothing but the suppression itself.
    const doc = (
      await t.request(admin, { method: 'GET', url: `/v1/privacy/subjects?email=${EMAIL}` })
    ).json();
    expect(doc.records.people).toEqual([]);
    expect(doc.suppressions).toEqual([
      expect.objectContaining({ reason: 'erasure', matched_by: 'keyed_hash' }),
    ]);
  });

  it('erasure by person id; unknown ids are 404 problems', async () => {
    const bystander = (await t.request(admin, { method: 'GET', url: '/v1/people?name=Nom2' })).json()
      .items[0];
    expect(bystander).toMatchObject({ lastName: 'Nom2' });
    const erased = await t.request(admin, {
      method: 'POST',
      url: '/v1/privacy/erasures',
      payload: { personId: bystander.id },
    });
    expect(erased.json().removed, erased.body).toMatchObject({ 'crm.people': 1, 'crm.positions': 1 });
    const missing = await t.request(admin, {
      method: 'POST',
      url: '/v1/privacy/erasures',
      payload: { personId: bystander.id },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('person_not_found');
    const bad = await t.request(admin, {
      method: 'POST',
      url: '/v1/privacy/erasures',
      payload: { email: 'x', personId: 'y' },
    });
    expect(bad.statusCode).toBe(400);
  });
});
