import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredRoute } from '../../src/plugins/route-policy.js';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { validSiren } from '../helpers/fixtures.js';
import { fillPath, pathParams, sampleBody } from '../helpers/route-requests.js';
import { organisationFingerprint } from '../helpers/snapshot.js';
import { discoverTenantFixtures, paramsFor } from '../helpers/tenant-fixtures.js';

/**
 * Generated from the app's own route table, so routes added by any folder are attacked too:
 * organisation B's member acts on organisation A's objects through every tenant route and method.
 * Expected: 403 when asking for A's scope, 404 when naming A's ids from B's scope (403 on
 * membership routes naming A), and A's data unchanged afterwards.
 */
let t: TestApp;
let a: TestUser;
let b: TestUser;
let tenantRoutes: RegisteredRoute[];
const fixtures: Record<string, Record<string, string>> = {};
const fixtureFiles: string[] = [];

/** Routes whose every path param must be covered by a fixture (this package's core routes). */
const CORE_PREFIXES = ['/v1/companies', '/v1/people', '/v1/positions', '/v1/organisations'];

beforeAll(async () => {
  t = await buildTestApp({ label: 'matrix' });
  a = await t.signUp('a-owner@matrix.test', 'Org A');
  b = await t.signUp('b-owner@matrix.test', 'Org B');

  const create = async (url: string, payload: object) => {
    const res = await t.request(a, { method: 'POST', url, payload });
    if (res.statusCode !== 201) throw new Error(`fixture ${url}: ${res.statusCode} ${res.body}`);
    return res.json().id as string;
  };
  const companyId = await create('/v1/companies', { name: 'A Corp', siren: validSiren(777) });
  const personId = await create('/v1/people', { firstName: 'Alice', lastName: 'A' });
  const positionId = await create('/v1/positions', { personId, companyId, email: 'alice@a.test' });
  Object.assign(fixtures, {
    '/v1/companies/:id': { id: companyId },
    '/v1/people/:id': { id: personId },
    '/v1/positions/:id': { id: positionId },
    '/v1/organisations/:organisationId': { organisationId: a.organisationId, userId: a.userId },
    // Body references by property name (e.g. POST /v1/positions with A's person and company).
    '/': { personId, companyId },
  });
  for (const { file, fixture } of await discoverTenantFixtures()) {
    Object.assign(fixtures, await fixture({ t, owner: a }));
    fixtureFiles.push(file);
  }

  tenantRoutes = t.app
    .routeCatalog()
    .filter(
      (route) => route.auth && route.organisation && route.method !== 'HEAD' && route.method !== 'OPTIONS',
    );
});
afterAll(async () => {
  await t?.close();
});

function requestFor(route: RegisteredRoute) {
  const params = { ...fixtures['/'], ...paramsFor(route.url, fixtures) };
  const body = route.schema?.body ? sampleBody(route.schema.body, params) : undefined;
  return {
    params,
    url: fillPath(route.url, params),
    covered: pathParams(route.url).every((name) => params[name] !== undefined),
    inject: {
      method: route.method as 'GET',
      url: fillPath(route.url, params),
      ...(body !== undefined && route.method !== 'GET' && route.method !== 'DELETE'
        ? { payload: body as object }
        : {}),
    },
  };
}

describe('cross-tenant matrix', () => {
  it('covers every tenant route, and every core route with real ids', () => {
    expect(tenantRoutes.length).toBeGreaterThanOrEqual(17);
    const uncoveredCore = tenantRoutes
      .filter((route) => CORE_PREFIXES.some((prefix) => route.url.startsWith(prefix)))
      .filter((route) => !requestFor(route).covered)
      .map((route) => `${route.method} ${route.url}`);
    expect(uncoveredCore).toEqual([]);
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
    const uncovered: string[] = [];
    for (const route of tenantRoutes.filter((r) => pathParams(r.url).length > 0)) {
      const request = requestFor(route);
      const res = await t.request(b, request.inject);
      const line = `${route.method} ${route.url} → ${res.statusCode} ${res.body.slice(0, 160)}`;
      const membership = route.url.includes(':organisationId');
      if (!request.covered) {
        // No fixture for this route's ids: still never a success and never a crash.
        uncovered.push(`${route.method} ${route.url}`);
        if (res.statusCode < 400 || res.statusCode >= 500) failures.push(line);
        continue;
      }
      const expected = membership ? 403 : 404;
      if (res.statusCode !== expected) failures.push(line);
    }
    expect(failures).toEqual([]);
    expect(await organisationFingerprint(t.admin, a.organisationId)).toEqual(before);
    if (uncovered.length > 0) {
      console.info(
        `cross-tenant: ${uncovered.length} route(s) ran with random ids (add a test/<area>/tenant-fixtures.ts): ${uncovered.join(', ')}`,
      );
    }
  });

  it("positive control: A's owner reads the same ids on every covered GET route", async () => {
    const gets = tenantRoutes.filter((r) => r.method === 'GET' && pathParams(r.url).length > 0);
    const failures: string[] = [];
    for (const route of gets) {
      const request = requestFor(route);
      if (!request.covered) continue;
      const res = await t.request(a, request.inject);
      if (res.statusCode !== 200) failures.push(`${route.url} → ${res.statusCode}`);
    }
    expect(gets.length).toBeGreaterThanOrEqual(4);
    expect(failures).toEqual([]);
  });

  it("B's member cannot attach A's person and company to a position in B", async () => {
    const res = await t.request(b, {
      method: 'POST',
      url: '/v1/positions',
      payload: { ...fixtures['/'], email: 'steal@b.test' },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('unknown_person');
  });
});
