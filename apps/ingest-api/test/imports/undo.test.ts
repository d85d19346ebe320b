import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { PHAROW_HEADER, pharowRow, toCsv } from './helpers.js';
import { type ImportBody, multipart, waitForImport } from './http-helpers.js';

let t: TestApp;
let owner: TestUser;
let member: TestUser;
let viewer: TestUser;

const TABLES = ['crm.companies', 'crm.people', 'crm.positions'];

/** Every column of every row of the CRM tables an import writes, hashed per table (superuser). */
async function checksums(organisationId: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const { rows } = await t.admin.query<{ sum: string }>(
      `SELECT count(*) || ':' || md5(coalesce(string_agg(to_jsonb(x)::text, ',' ORDER BY x.id), '')) AS sum
         FROM ${table} x WHERE organisation_id = $1`,
      [organisationId],
    );
    out[table] = rows[0]!.sum;
  }
  return out;
}

async function importCsv(user: TestUser, rows: string[][], key: string): Promise<ImportBody> {
  const body = multipart(toCsv([PHAROW_HEADER, ...rows]), {}, 'leads.csv');
  const response = await t.request(user, {
    method: 'POST',
    url: '/v1/imports',
    payload: body.payload,
    headers: { ...body.headers, 'idempotency-key': key },
  });
  expect(response.statusCode, response.body).toBe(202);
  return await waitForImport(t, user, (response.json() as ImportBody).id);
}

beforeAll(async () => {
  t = await buildTestApp({ label: 'import_undo' });
  owner = await t.signUp();
  member = await t.join(owner, 'member');
  viewer = await t.join(owner, 'viewer');
});
afterAll(async () => {
  await t?.close();
});

describe('DELETE /v1/imports/{id}: undo a CSV import', () => {
  it('previews, then removes what it created and restores what it updated (checksums equal)', async () => {
    const org = owner.organisationId;
    const first = await importCsv(member, [pharowRow(1), pharowRow(2)], 'undo-1');
    expect(first.counts).toMatchObject({ inserted: 2 });
    const before = await checksums(org);
    // The second file updates contact 1 (new title, city) and adds contact 3.
    const second = await importCsv(
      member,
      [pharowRow(1, { Poste: 'PDG', Ville: 'Paris' }), pharowRow(3)],
      'undo-2',
    );
    expect(second.counts).toMatchObject({ inserted: 1, updated: 1 });
    const after = await checksums(org);
    expect(after).not.toEqual(before);

    expect((await t.request(viewer, { method: 'DELETE', url: `/v1/imports/${second.id}` })).statusCode).toBe(
      403,
    );
    const preview = await t.request(member, {
      method: 'DELETE',
      url: `/v1/imports/${second.id}?dryRun=true`,
    });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json()).toMatchObject({
      dryRun: true,
      applied: false,
      conflicts: [],
      tables: {
        'crm.positions': { delete: 1, restore: 1, gone: 0 },
        'crm.people': { delete: 1, restore: 1, gone: 0 },
        'crm.companies': { delete: 1, restore: 1, gone: 0 },
      },
    });
    expect(await checksums(org)).toEqual(after);

    const undone = await t.request(member, { method: 'DELETE', url: `/v1/imports/${second.id}` });
    expect(undone.statusCode, undone.body).toBe(200);
    expect(undone.json()).toMatchObject({ applied: true, dryRun: false });
    expect(await checksums(org)).toEqual(before);
    const shown = await t.request(member, { method: 'GET', url: `/v1/imports/${second.id}` });
    expect(shown.json().undoneAt).toEqual(expect.any(String));

    const again = await t.request(member, { method: 'DELETE', url: `/v1/imports/${second.id}` });
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(again.json().code).toBe('import_already_undone');

    // The same file again (no Idempotency-Key) is a new import, not the undone one replayed.
    const reposted = await t.request(member, {
      method: 'POST',
      url: '/v1/imports',
      headers: { 'content-type': 'text/csv' },
      payload: toCsv([PHAROW_HEADER, pharowRow(1, { Poste: 'PDG', Ville: 'Paris' }), pharowRow(3)]),
    });
    expect(reposted.statusCode, reposted.body).toBe(202);
    expect(reposted.json().id).not.toBe(second.id);
    const redone = await waitForImport(t, member, reposted.json().id);
    expect(redone).toMatchObject({
      status: 'succeeded',
      counts: { inserted: 1, updated: 1 },
      undoneAt: null,
    });
    expect(await checksums(org)).not.toEqual(before);
    // Two imports through the worker's queue: well over 30 s on a loaded 2-core machine.
  }, 120_000);

  it('lists the conflicts as problem+json and changes nothing when a row changed since', async () => {
    const org = owner.organisationId;
    const imported = await importCsv(member, [pharowRow(7)], 'undo-3');
    const positions = await t.request(member, {
      method: 'GET',
      url: '/v1/positions?email=contact7@societe7.fr',
    });
    const positionId = positions.json().items[0].id;
    const patched = await t.request(member, {
      method: 'PATCH',
      url: `/v1/positions/${positionId}`,
      payload: { title: 'Changed by hand' },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const before = await checksums(org);
    const refused = await t.request(member, { method: 'DELETE', url: `/v1/imports/${imported.id}` });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json()).toMatchObject({
      code: 'import_undo_conflicts',
      conflicts: [{ table: 'crm.positions', rowId: positionId, reason: 'changed_since' }],
    });
    expect(await checksums(org)).toEqual(before);
    const missing = await t.request(member, {
      method: 'DELETE',
      url: '/v1/imports/00000000-0000-4000-8000-000000000000',
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('import_not_found');
  });
});
