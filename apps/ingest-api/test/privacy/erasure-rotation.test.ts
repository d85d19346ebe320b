import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

// PRIVACY_HMAC_KEYS rotated: key 2 writes, key 1 is still looked up.
const K1 = randomBytes(32);
const K2 = randomBytes(32);
const EMAIL = 'zoe@rotation.test';
let t: TestApp;
let admin: TestUser;

beforeAll(async () => {
  t = await buildTestApp({
    label: 'erasure_rotation',
    env: { PRIVACY_HMAC_KEYS: `1:${K1.toString('base64')},2:${K2.toString('base64')}` },
  });
  admin = await t.signUp('owner@erasure-rotation.test');
});
afterAll(async () => {
  await t?.close();
});

it("an erasure by address completes the person's requests made before the key rotation", async () => {
  const company = await t.request(admin, {
    method: 'POST',
    url: '/v1/companies',
    payload: { name: 'Rotation', domain: 'rotation.test' },
  });
  const person = await t.request(admin, {
    method: 'POST',
    url: '/v1/people',
    payload: { firstName: 'Zoé', lastName: 'Rotation' },
  });
  const position = await t.request(admin, {
    method: 'POST',
    url: '/v1/positions',
    payload: { personId: person.json().id, companyId: company.json().id, email: EMAIL },
  });
  expect(position.statusCode, position.body).toBe(201);
  // Two requests written while key 1 was the current one: one found only by the position it was
  // made at, one (its position pointer gone) only by the address's hash under key 1.
  const request = `INSERT INTO iam.erasure_requests (organisation_id, position_id, key_version, subject_hmac)
     VALUES ($1, $2, 1, $3)`;
  const k1 = (text: string) => createHmac('sha256', K1).update(text).digest();
  await t.admin.query(request, [admin.organisationId, position.json().id, k1('an address since changed')]);
  await t.admin.query(request, [admin.organisationId, null, k1(EMAIL)]);
  const pending = () =>
    t.request(admin, { method: 'GET', url: '/v1/privacy/erasure-requests?status=pending' });
  expect((await pending()).json().items).toHaveLength(2);
  const erased = await t.request(admin, {
    method: 'POST',
    url: '/v1/privacy/erasures',
    payload: { email: EMAIL },
  });
  expect(erased.statusCode, erased.body).toBe(201);
  expect((await pending()).json().items).toEqual([]);
  const { rows } = await t.admin.query(
    'SELECT status, erasure_id, position_id FROM iam.erasure_requests WHERE organisation_id = $1',
    [admin.organisationId],
  );
  expect(rows).toEqual([
    { status: 'completed', erasure_id: erased.json().id, position_id: null },
    { status: 'completed', erasure_id: erased.json().id, position_id: null },
  ]);
});
