import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredRoute } from '../../src/plugins/route-policy.js';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { buildRouteMatrix, type RouteMatrix } from '../helpers/route-matrix.js';
import { pathParams } from '../helpers/route-requests.js';
import { organisationFingerprint } from '../helpers/snapshot.js';

/**
 * Generated from the app's own route table, so routes added by any folder are attacked too:
 * organisation B's member acts on organisation A's objects through every tenant route and method.
 * Expected: 403 when asking for A's scope, 404 when naming A's ids from B's scope (403 on
 * membership routes naming A), and A's data unchanged afterwards.
 */
let t: TestApp;
let a: TestUser;
let b: TestUser;
let matrix: RouteMatrix;
let tenantRoutes: RegisteredRoute[];
let requestFor: RouteMatrix['requestFor'];

beforeAll(async () => {
  t = await buildTestApp({ label: 'matrix' });
  a = await t.signUp('a-owner@matrix.test', 'Org A');
  b = await t.signUp('b-owner@matrix.test', 'Org B');
  matrix = await buildRouteMatrix(t, a);
  tenantRoutes = matrix.routes;
  requestFor = matrix.requestFor;
});
afterAll(async () => {
  await t?.close();
});

describe('cross-tenant matrix', () => {
  it('covers every tenant route, each with real ids of A for its path params', () => {
    // The catalogue really holds every route group (a new group needs no change here: the
    // coverage check below already demands its fixtures).
    const groups = new Set(tenantRoutes.map((route) => route.url.split('/').slice(0, 3).join('/')));
    expect([...groups]).toEqual(
      expect.arrayContaining([
        '/v1/campaigns',
        '/v1/companies',
        '/v1/imports',
        '/v1/mailboxes',
        '/v1/organisations',
        '/v1/people',
        '/v1/positions',
      ]),
    );
    expect(matrix.fixtureFiles).toEqual(
      expect.arrayContaining(['imports/tenant-fixtures.ts', 'outreach/tenant-fixtures.ts']),
    );
    const uncovered = tenantRoutes
      .filter((route) => !requestFor(route).covered)
      .map((route) => `${route.method} ${route.url}`);
    expect(uncovered).toEqual([]);
  });

  it("B's member asking for A's scope gets 403 on every tenant route, and A is unchanged", async () => {
    const before = await organisationFingerprint(t.admin, a.organisationId);
    const answers: string[] = [];
    for (const route of tenantRoutes) {
      const { inject } = requestFor(route);
      const res = await t.request(b, { ...inject, organisationId: a.organisationId });
      answers.push(`${route.method} ${route.url} → ${res.statusCode} ${res.json().code}`);
    }
    expect(answers.filter((line) => !line.endsWith('→ 403 not_a_member'))).toEqual([]);
    expect(await organisationFingerprint(t.admin, a.organisationId)).toEqual(before);
  });

  it("B's member naming A's ids from B's own scope gets 404 (403 for A's membership), and A is unchanged", async () => {
    const before = await organisationFingerprint(t.admin, a.organisationId);
    const failures: string[] = [];
    const attacked = tenantRoutes.filter((r) => pathParams(r.url).length > 0);
    for (const route of attacked) {
      const request = requestFor(route);
      const res = await t.request(b, request.inject);
      const line = `${route.method} ${route.url} → ${res.statusCode} ${res.body.slice(0, 160)}`;
      // A route without A's ids would only prove that random ids are not found.
      if (!request.covered) failures.push(`${line} (no fixture)`);
      else if (res.statusCode !== (route.url.includes(':organisationId') ? 403 : 404)) failures.push(line);
    }
    expect(attacked.length).toBeGreaterThanOrEqual(20);
    expect(failures).toEqual([]);
    expect(await organisationFingerprint(t.admin, a.organisationId)).toEqual(before);
  });

  it("positive control: A's owner reads the same ids on every GET route", async () => {
    const gets = tenantRoutes.filter((r) => r.method === 'GET' && pathParams(r.url).length > 0);
    const failures: string[] = [];
    for (const route of gets) {
      const res = await t.request(a, requestFor(route).inject);
      if (res.statusCode !== 200) failures.push(`${route.url} → ${res.statusCode}`);
    }
    expect(gets.length).toBeGreaterThanOrEqual(8);
    expect(failures).toEqual([]);
  });

  it("B's member cannot attach A's person and company to a position in B", async () => {
    const res = await t.request(b, {
      method: 'POST',
      url: '/v1/positions',
      payload: {
        personId: matrix.fixtures['/']!.personId,
        companyId: matrix.fixtures['/']!.companyId,
        email: 'steal@b.test',
      },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('unknown_person');
  });

  it("B's member cannot send from A's mailbox nor enroll A's positions", async () => {
    const before = await organisationFingerprint(t.admin, a.organisationId);
    const { mailboxId, positionId } = matrix.fixtures['/']!;
    const steps = [{ delayDays: 0, subject: 'Hi', body: 'Hello' }];
    const campaign = await t.request(b, {
      method: 'POST',
      url: '/v1/campaigns',
      payload: { name: 'B with A mailbox', mailboxId, steps },
    });
    expect(campaign.statusCode).toBe(422);

    const own = await t.request(b, { method: 'POST', url: '/v1/campaigns', payload: { name: 'B', steps } });
    expect(own.statusCode).toBe(201);
    const enroll = await t.request(b, {
      method: 'POST',
      url: `/v1/campaigns/${own.json().id}/enrollments`,
      payload: { positionIds: [positionId] },
    });
    expect(enroll.json()).toEqual({ enrolled: [], skipped: [{ positionId, reason: 'not_found' }] });
    expect(await organisationFingerprint(t.admin, a.organisationId)).toEqual(before);
  });
});
