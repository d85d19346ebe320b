import { freePort } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { multipart } from './http-helpers.js';

// The upload storage down (an S3 endpoint nothing listens on): the platform's failure, not the
// client's — 503 storage_unavailable with Retry-After, never 500, and no import row left behind,
// whatever the body (multipart, raw text/csv, JSON rows).

let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  t = await buildTestApp({
    label: 'storage_outage',
    env: {
      STORAGE_DRIVER: 's3',
      STORAGE_S3_BUCKET: 'uploads-down',
      STORAGE_S3_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      STORAGE_S3_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'outage-test',
      AWS_SECRET_ACCESS_KEY: 'outage-test-secret-outage-test-secret-0000',
    },
  });
  user = await t.signUp();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const CSV = 'email,first_name,company_name\nada@lovelace.io,Ada,Analytical\n';

describe('POST /v1/imports while the upload storage is down', () => {
  it('answers 503 storage_unavailable for every kind of body, and creates no import', async () => {
    const form = multipart(CSV);
    const bodies = [
      { headers: form.headers, payload: form.payload },
      { headers: { 'content-type': 'text/csv' }, payload: CSV },
      { payload: [{ email: 'ada@lovelace.io', first_name: 'Ada', company_name: 'Analytical' }] },
      // The same request again with an idempotency key: the reservation is released, not kept.
      { headers: { 'content-type': 'text/csv', 'idempotency-key': 'outage-1' }, payload: CSV },
    ];
    for (const body of bodies) {
      const res = await t.request(user, { method: 'POST', url: '/v1/imports', ...body });
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({ status: 503, code: 'storage_unavailable' });
    }
    const { rows } = await t.admin.query(
      'SELECT count(*)::int AS n FROM crm.imports WHERE organisation_id = $1',
      [user.organisationId],
    );
    expect(rows[0].n).toBe(0);
  });
});
