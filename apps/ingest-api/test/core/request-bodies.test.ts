import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

// Every body is validated exactly as sent (src/lib/request-validation.ts): no type is coerced and no
// field is dropped. An unknown field where the schema forbids them, or a wrongly typed value, is
// 400 validation_failed naming each field, and nothing is written. Query strings, params and headers
// still arrive as strings and are coerced.

let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'request_bodies' });
  user = await t.signUp('owner@bodies.test', 'Bodies Org');
});
afterAll(async () => {
  await t?.close();
});

const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
  t.request(user, { method, url, ...(payload === undefined ? {} : { payload: payload as object }) });

/** 400 problem+json `validation_failed` whose `errors[]` name exactly `paths`, all in the body. */
function expectRefused(res: LightMyRequestResponse, paths: string[]): { path: string; message: string }[] {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toContain('application/problem+json');
  const problem = res.json();
  expect(problem).toMatchObject({ status: 400, code: 'validation_failed' });
  const errors = problem.errors as { in: string; path: string; message: string }[];
  expect(errors.every((error) => error.in === 'body')).toBe(true);
  // A union reports each of its branches at the same path: compare the paths named.
  expect([...new Set(errors.map((error) => error.path))].sort()).toEqual([...paths].sort());
  return errors;
}

describe('POST /v1/companies', () => {
  const count = async () =>
    (
      await t.admin.query('SELECT count(*)::int AS n FROM crm.companies WHERE organisation_id = $1', [
        user.organisationId,
      ])
    ).rows[0].n as number;

  it('refuses a wrongly typed value instead of coercing it, and writes nothing', async () => {
    const before = await count();
    for (const [payload, paths] of [
      [{ name: 42 }, ['/name']],
      [{ name: true }, ['/name']],
      [{ name: 'Acme', employeeCount: '12' }, ['/employeeCount']],
      [{ name: 'Acme', city: 75001, phone: false }, ['/city', '/phone']],
      [{ name: ['Acme'] }, ['/name']],
    ] as const) {
      expectRefused(await call('POST', '/v1/companies', payload), [...paths]);
    }
    expect(await count()).toBe(before);
  });

  it('takes the same body, rightly typed, and still coerces the query string', async () => {
    const created = await call('POST', '/v1/companies', { name: 'Typed', employeeCount: 12, city: 'Paris' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ name: 'Typed', employeeCount: 12, city: 'Paris' });
    const listed = await call('GET', '/v1/companies?limit=1&name=Typed');
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json().items).toHaveLength(1);
    // Params are converted as before: a malformed id is a params refusal, not a body one.
    const badId = await call('GET', '/v1/companies/not-a-uuid');
    expect(badId.json()).toMatchObject({ code: 'validation_failed', errors: [{ in: 'params' }] });
  });
});

describe('PATCH /v1/campaigns/:id', () => {
  let id: string;
  const stored = async () =>
    (
      await t.admin.query(
        `SELECT c.name, c.description, c.tracking_enabled, c.updated_at,
                (SELECT json_agg(json_build_object('delay', s.delay_days, 'body', s.body_template) ORDER BY s.step_order)
                   FROM outreach.workflow_steps s WHERE s.campaign_id = c.id) AS steps
           FROM outreach.campaigns c WHERE c.id = $1`,
        [id],
      )
    ).rows[0];

  beforeAll(async () => {
    const created = await call('POST', '/v1/campaigns', {
      name: 'Exact',
      steps: [{ delayDays: 0, subject: 'Hello', body: 'First' }],
    });
    expect(created.statusCode, created.body).toBe(201);
    id = created.json().id;
  });

  it('refuses an unknown field, naming it, instead of dropping it; nothing is written', async () => {
    const before = await stored();
    for (const [payload, paths] of [
      [{ name: 'Renamed', nmae: 'typo' }, ['/nmae']],
      [{ trackingEnabled: false, tracking: true, colour: 'red' }, ['/tracking', '/colour']],
      [{ steps: [{ delayDays: 0, body: 'Second', subjct: 'typo' }] }, ['/steps/0/subjct']],
    ] as const) {
      const errors = expectRefused(await call('PATCH', `/v1/campaigns/${id}`, payload), [...paths]);
      for (const error of errors) expect(error.message).toMatch(/not a field of this request/);
    }
    expect(await stored()).toEqual(before);
  });

  it('refuses a number where a string is required, and other wrong types; nothing is written', async () => {
    const before = await stored();
    for (const [payload, paths] of [
      [{ name: 42 }, ['/name']],
      [{ description: 7, trackingEnabled: 'false' }, ['/description', '/trackingEnabled']],
      [{ steps: [{ delayDays: '2', body: 'Second' }] }, ['/steps/0/delayDays']],
      [{ steps: [{ delayDays: 0, body: 12345 }] }, ['/steps/0/body']],
      [{ steps: { delayDays: 0, body: 'not an array' } }, ['/steps']],
    ] as const) {
      expectRefused(await call('PATCH', `/v1/campaigns/${id}`, payload), [...paths]);
    }
    expect(await stored()).toEqual(before);
  });

  it('takes a rightly typed change, with the schema defaults filled in', async () => {
    const res = await call('PATCH', `/v1/campaigns/${id}`, {
      name: 'Renamed',
      steps: [{ delayDays: 0, subject: 'Hi', body: 'Second' }],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'Renamed',
      steps: [{ delayDays: 0, exitOnReply: true, subject: 'Hi', body: 'Second' }],
    });
  });
});

describe('PATCH /v1/organisations/:organisationId', () => {
  const stored = async () =>
    (await t.admin.query('SELECT name, slug FROM iam.organisations WHERE id = $1', [user.organisationId]))
      .rows[0];

  it('refuses unknown fields and wrong types, naming them; the organisation is unchanged', async () => {
    const before = await stored();
    const url = `/v1/organisations/${user.organisationId}`;
    expectRefused(await call('PATCH', url, { name: 'New name', colour: 'red' }), ['/colour']);
    expectRefused(await call('PATCH', url, { name: 42 }), ['/name']);
    expectRefused(await call('PATCH', url, { slug: 1234 }), ['/slug']);
    expect(await stored()).toEqual(before);
    const renamed = await call('PATCH', url, { name: 'New name' });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect((await stored()).name).toBe('New name');
  });
});

describe('every other JSON body is closed too', () => {
  // One row per route whose body used to accept and drop unknown fields. Each gets a body it would
  // take, plus one unknown field: 400 naming it, and no row of the organisation (or any new
  // organisation, membership, erasure or setting) changes.
  let ids: { company: string; person: string; member: string };

  const snapshot = async () =>
    (
      await t.admin.query(
        `SELECT (SELECT json_agg(c ORDER BY c.id) FROM crm.companies c WHERE c.organisation_id = $1) AS companies,
                (SELECT json_agg(p ORDER BY p.id) FROM crm.people p WHERE p.organisation_id = $1) AS people,
                (SELECT json_agg(p ORDER BY p.id) FROM crm.positions p WHERE p.organisation_id = $1) AS positions,
                (SELECT json_agg(m ORDER BY m.user_id) FROM iam.organisation_users m WHERE m.organisation_id = $1) AS members,
                (SELECT json_agg(s) FROM iam.privacy_settings s WHERE s.organisation_id = $1) AS settings,
                (SELECT count(*) FROM iam.erasures) AS erasures,
                (SELECT count(*) FROM iam.organisations) AS organisations`,
        [user.organisationId],
      )
    ).rows[0];

  beforeAll(async () => {
    const company = await call('POST', '/v1/companies', { name: 'Closed Co' });
    const person = await call('POST', '/v1/people', { firstName: 'Ada', lastName: 'Closed' });
    expect(company.statusCode, company.body).toBe(201);
    expect(person.statusCode, person.body).toBe(201);
    const member = await t.join(user, 'member');
    ids = { company: company.json().id, person: person.json().id, member: member.userId };
  });

  it('refuses an unknown field on each of them, naming it; nothing is written', async () => {
    // The erasure takes exactly one property, so the extra one also breaks that rule ('/').
    const cases: [
      method: 'POST' | 'PATCH',
      url: () => string,
      body: Record<string, unknown>,
      also?: string,
    ][] = [
      ['POST', () => '/v1/companies', { name: 'Acme' }],
      ['PATCH', () => `/v1/companies/${ids.company}`, { name: 'Acme' }],
      ['POST', () => '/v1/people', { firstName: 'Grace' }],
      ['PATCH', () => `/v1/people/${ids.person}`, { firstName: 'Grace' }],
      ['POST', () => '/v1/positions', { personId: ids.person, companyId: ids.company, title: 'CTO' }],
      ['POST', () => '/v1/organisations', { name: 'Second org' }],
      ['PATCH', () => `/v1/organisations/${user.organisationId}/members/${ids.member}`, { role: 'viewer' }],
      ['POST', () => '/v1/privacy/erasures', { personId: ids.person }, '/'],
      ['PATCH', () => '/v1/privacy/settings', { retentionEnabled: true }],
    ];
    const before = await snapshot();
    for (const [method, url, body, also] of cases) {
      const res = await call(method, url(), { ...body, unexpected: 'field' });
      const errors = expectRefused(res, also ? ['/unexpected', also] : ['/unexpected']);
      const unknown = errors.find((error) => error.path === '/unexpected');
      expect(unknown?.message, `${method} ${url()}`).toMatch(/not a field of this request/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses it on a position change as well, and takes the same bodies without it', async () => {
    const position = await call('POST', '/v1/positions', {
      personId: ids.person,
      companyId: ids.company,
      title: 'CTO',
    });
    expect(position.statusCode, position.body).toBe(201);
    const url = `/v1/positions/${position.json().id}`;
    expectRefused(await call('PATCH', url, { title: 'CEO', id: position.json().id }), ['/id']);
    const changed = await call('PATCH', url, { title: 'CEO' });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json().title).toBe('CEO');
    const renamed = await call('PATCH', `/v1/companies/${ids.company}`, { name: 'Closed Co 2' });
    expect(renamed.statusCode, renamed.body).toBe(200);
  });
});
