import { PassThrough } from 'node:stream';
import { ImportResource } from '@prospectflow/import-engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { PHAROW_HEADER, pharowRow, toCsv } from './helpers.js';
import { type ImportBody, multipart, waitForImport } from './http-helpers.js';

let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'imports_http' });
  user = await t.signUp();
});
afterAll(async () => {
  await t?.close();
});

async function count(organisationId: string, table: string): Promise<number> {
  const { rows } = await t.admin.query(`SELECT count(*)::int AS n FROM ${table} WHERE organisation_id = $1`, [
    organisationId,
  ]);
  return rows[0].n;
}

describe('POST /v1/imports', () => {
  it('imports a multipart CSV upload in the background and reports counts and paginated errors', async () => {
    const csv = toCsv([
      PHAROW_HEADER,
      pharowRow(1),
      pharowRow(2, { SIREN: '111111111' }),
      pharowRow(3, { Email: '@cmd()' }),
    ]);
    const response = await t.request(user, { method: 'POST', url: '/v1/imports', ...multipart(csv) });
    expect(response.statusCode, response.body).toBe(202);
    const accepted = response.json() as ImportBody;
    expect(response.headers.location).toBe(`/v1/imports/${accepted.id}`);
    const done = await waitForImport(t, user, accepted.id, '?errorsLimit=1');
    expect(done).toMatchObject({
      status: 'succeeded',
      counts: { inserted: 1, updated: 0, skipped: 0, failed: 2 },
      progress: { rowsProcessed: 3, rowsTotal: 3 },
    });
    // Exactly the schema's fields (ImportResource, composed with errors): the storage key stays inside.
    expect(Object.keys(done).sort()).toEqual([...Object.keys(ImportResource.properties), 'errors'].sort());
    expect(Object.keys(accepted).sort()).toEqual(Object.keys(ImportResource.properties).sort());
    expect(done.errors.items).toEqual([
      expect.objectContaining({ rowNumber: 3, column: 'SIREN', code: 'invalid_siren', kind: 'failed' }),
    ]);
    const next = await t.request(user, {
      method: 'GET',
      url: `/v1/imports/${accepted.id}?errorsLimit=5&errorsCursor=${done.errors.nextCursor}`,
    });
    const rest = (next.json() as ImportBody).errors;
    expect(rest.nextCursor).toBeNull();
    expect(rest.items.map((e) => [e.rowNumber, e.column, e.code]).sort()).toEqual([
      [4, 'Email', 'formula_injection'],
      [4, 'Email', 'invalid_email'],
    ]);
    expect(await count(user.organisationId, 'crm.positions')).toBe(1);
    // A cursor it did not write is refused (it restarted at the first page: a paging client looped).
    for (const cursor of [
      'zzzz',
      `${done.errors.nextCursor}x`,
      Buffer.from('99999999999:00000000-0000-4000-8000-000000000000').toString('base64url'),
    ]) {
      const refused = await t.request(user, {
        method: 'GET',
        url: `/v1/imports/${accepted.id}?errorsCursor=${cursor}`,
      });
      expect([refused.statusCode, refused.json().code], cursor).toEqual([400, 'invalid_cursor']);
    }
  });

  it('imports a JSON array and a text/csv body', async () => {
    const json = await t.request(user, {
      method: 'POST',
      url: '/v1/imports',
      payload: [
        {
          email: 'ada@lovelace.io',
          first_name: 'Ada',
          company_name: 'Analytical',
          company_domain: 'lovelace.io',
        },
      ],
    });
    expect(json.statusCode, json.body).toBe(202);
    expect(await waitForImport(t, user, (json.json() as ImportBody).id)).toMatchObject({
      status: 'succeeded',
      counts: { inserted: 1 },
    });
    const raw = await t.request(user, {
      method: 'POST',
      url: '/v1/imports?fileName=raw.csv',
      headers: { 'content-type': 'text/csv' },
      payload: toCsv([PHAROW_HEADER, pharowRow(40)], ','),
    });
    expect(raw.statusCode, raw.body).toBe(202);
    expect(await waitForImport(t, user, (raw.json() as ImportBody).id)).toMatchObject({
      status: 'succeeded',
      counts: { inserted: 1 },
    });
  });

  it('answers files that can never import with 4xx problems and creates no import', async () => {
    const other = await t.signUp();
    const cases: Array<[Buffer | string, Record<string, string>, number, string]> = [
      ['a;b;c\n1;2;3\n', {}, 422, 'no_usable_columns'],
      [Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x01]), {}, 415, 'unsupported_file'],
      ['', {}, 422, 'empty_file'],
      ['Courriel\nx@y.fr\n', { mapping: '{"Courriel": "nope"}' }, 422, 'invalid_mapping'],
      ['Courriel\nx@y.fr\n', { mapping: '{not json' }, 422, 'invalid_mapping'],
    ];
    for (const [file, fields, status, code] of cases) {
      const response = await t.request(other, {
        method: 'POST',
        url: '/v1/imports',
        ...multipart(file, fields),
      });
      expect([response.statusCode, response.json().code], String(file)).toEqual([status, code]);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    // JSON rows get the same check as a CSV's header: refused at once, not accepted and failed later.
    for (const payload of [[], [{ a: '1', b: '2' }], { rows: [{ Courriel: 'x@y.fr' }] }]) {
      const response = await t.request(other, { method: 'POST', url: '/v1/imports', payload });
      expect([response.statusCode, response.json().code], JSON.stringify(payload)).toEqual([
        422,
        'no_usable_columns',
      ]);
    }
    expect(await count(other.organisationId, 'crm.imports')).toBe(0);
    const mapped = await t.request(other, {
      method: 'POST',
      url: '/v1/imports',
      ...multipart('Courriel;Société;Site;Qui\nx@societe.fr;Société X;societe.fr;Xavier\n', {
        mapping: JSON.stringify({
          Courriel: 'email',
          Société: 'company_name',
          Site: 'company_website',
          Qui: 'first_name',
        }),
      }),
    });
    expect(mapped.statusCode, mapped.body).toBe(202);
    expect(await waitForImport(t, other, (mapped.json() as ImportBody).id)).toMatchObject({
      status: 'succeeded',
      counts: { inserted: 1 },
    });
  });

  it('honours Idempotency-Key: replay, 422 for another body, 409 while the first upload is in flight', async () => {
    const csv = toCsv([PHAROW_HEADER, pharowRow(100)]);
    const headers = { 'idempotency-key': 'import-key-1' };
    const first = await t.request(user, {
      method: 'POST',
      url: '/v1/imports',
      ...multipart(csv),
      headers: { ...multipart(csv).headers, ...headers },
    });
    // multipart() makes a new boundary per call: build once so both requests are byte-identical.
    const body = multipart(csv);
    const a = await t.request(user, {
      method: 'POST',
      url: '/v1/imports',
      payload: body.payload,
      headers: { ...body.headers, 'idempotency-key': 'import-key-2' },
    });
    const b = await t.request(user, {
      method: 'POST',
      url: '/v1/imports',
      payload: body.payload,
      headers: { ...body.headers, 'idempotency-key': 'import-key-2' },
    });
    expect(first.statusCode, first.body).toBe(400);
    expect(a.statusCode, a.body).toBe(202);
    expect(b.statusCode, b.body).toBe(200);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect((b.json() as ImportBody).id).toBe((a.json() as ImportBody).id);
    const changed = await t.request(user, {
      method: 'POST',
      url: '/v1/imports',
      ...multipart(toCsv([PHAROW_HEADER, pharowRow(101)])),
      headers: { ...multipart('x').headers, 'idempotency-key': 'import-key-2' },
    });
    expect(changed.statusCode).toBe(400); // boundary mismatch: a malformed body is a 400, never a 5xx
    const other = multipart(toCsv([PHAROW_HEADER, pharowRow(101)]));
    const reused = await t.request(user, {
      method: 'POST',
      url: '/v1/imports',
      payload: other.payload,
      headers: { ...other.headers, 'idempotency-key': 'import-key-2' },
    });
    expect([reused.statusCode, reused.json().code]).toEqual([422, 'idempotency_key_reused']);

    // A first request whose upload is still arriving holds the key.
    const slow = new PassThrough();
    const slowBody = multipart(toCsv([PHAROW_HEADER, pharowRow(102)]));
    const inFlight = t.request(user, {
      method: 'POST',
      url: '/v1/imports',
      payload: slow,
      headers: { ...slowBody.headers, 'idempotency-key': 'import-key-3' },
    });
    slow.write(slowBody.payload.subarray(0, 50));
    // Wait until the first request has reserved the key (its upload is still open).
    for (let i = 0; ; i++) {
      const { rows } = await t.admin.query(
        `SELECT status FROM crm.imports WHERE idempotency_key = 'import-key-3'`,
      );
      if (rows[0]?.status === 'pending') break;
      if (i > 400) throw new Error('the first request never reserved its key');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const concurrent = await t.request(user, {
      method: 'POST',
      url: '/v1/imports',
      payload: slowBody.payload,
      headers: { ...slowBody.headers, 'idempotency-key': 'import-key-3' },
    });
    expect(concurrent.statusCode, concurrent.body).toBe(409);
    expect(concurrent.json().code).toBe('idempotency_key_in_use');
    slow.end(slowBody.payload.subarray(50));
    const firstDone = await inFlight;
    expect(firstDone.statusCode, firstDone.body).toBe(202);
    const replay = await t.request(user, {
      method: 'POST',
      url: '/v1/imports',
      payload: slowBody.payload,
      headers: { ...slowBody.headers, 'idempotency-key': 'import-key-3' },
    });
    expect([replay.statusCode, (replay.json() as ImportBody).id]).toEqual([
      200,
      (firstDone.json() as ImportBody).id,
    ]);
    for (const response of [a, firstDone]) await waitForImport(t, user, (response.json() as ImportBody).id);
  });

  it('returns the existing import for the same file without a key, and 404 across organisations', async () => {
    const body = multipart(toCsv([PHAROW_HEADER, pharowRow(200)]));
    const a = await t.request(user, { method: 'POST', url: '/v1/imports', ...body });
    await waitForImport(t, user, (a.json() as ImportBody).id);
    const b = await t.request(user, {
      method: 'POST',
      url: '/v1/imports',
      ...multipart(toCsv([PHAROW_HEADER, pharowRow(200)])),
    });
    expect([b.statusCode, (b.json() as ImportBody).id]).toEqual([200, (a.json() as ImportBody).id]);
    const stranger = await t.signUp();
    const peek = await t.request(stranger, {
      method: 'GET',
      url: `/v1/imports/${(a.json() as ImportBody).id}`,
    });
    expect([peek.statusCode, peek.json().code]).toEqual([404, 'import_not_found']);
  });
});
