import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isListedPublicRoute } from '../../src/lib/public-routes.js';
import routePolicy from '../../src/plugins/route-policy.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fillPath } from '../helpers/route-requests.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ label: 'deny' });
});
afterAll(async () => {
  await t?.close();
});

describe('deny by default', () => {
  it('every registered route is either authenticated or on the explicit public list', () => {
    const routes = t.app.routeCatalog();
    expect(routes.length).toBeGreaterThan(20);
    const publicRoutes = routes.filter((route) => !route.auth);
    for (const route of publicRoutes) expect(isListedPublicRoute(route.method, route.url)).toBe(true);
    // The public surface is exactly what we expect of this app, nothing more.
    const publicNonDocs = publicRoutes
      .filter((route) => !route.url.startsWith('/docs') && route.method !== 'HEAD')
      .map((route) => `${route.method} ${route.url}`)
      .filter((line) => !/ \/(t|u)\//.test(line) && !line.includes(' /v1/inbound'));
    expect(publicNonDocs.sort()).toEqual(
      [
        'GET /.well-known/jwks.json',
        'GET /health',
        'GET /metrics',
        'GET /openapi.json',
        'GET /ready',
        'OPTIONS *',
      ].sort(),
    );
  });

  it('every authenticated route answers 401 problem+json without a token, before reading the body', async () => {
    const failures: string[] = [];
    const authenticated = t.app.routeCatalog().filter((route) => route.auth && route.method !== 'HEAD');
    for (const route of authenticated) {
      const res = await t.app.inject({
        method: route.method as 'GET',
        url: fillPath(route.url),
        ...(route.method === 'GET' || route.method === 'DELETE'
          ? {}
          : { headers: { 'content-type': 'application/json' }, payload: '{not json' }),
      });
      const ok =
        res.statusCode === 401 &&
        String(res.headers['content-type']).includes('application/problem+json') &&
        res.json().code === 'credentials_missing' &&
        String(res.headers['www-authenticate']).startsWith('Bearer realm=');
      if (!ok) failures.push(`${route.method} ${route.url} → ${res.statusCode} ${res.body.slice(0, 120)}`);
    }
    expect(authenticated.length).toBeGreaterThan(15);
    expect(failures).toEqual([]);
  });

  it('a forged token is refused on every authenticated route', async () => {
    const forged = `${t.token('mallory@example.test').slice(0, -6)}AAAAAA`;
    const failures: string[] = [];
    for (const route of t.app.routeCatalog().filter((r) => r.auth && r.method !== 'HEAD')) {
      const res = await t.app.inject({
        method: route.method as 'GET',
        url: fillPath(route.url),
        headers: { authorization: `Bearer ${forged}` },
      });
      if (res.statusCode !== 401) failures.push(`${route.method} ${route.url} → ${res.statusCode}`);
    }
    expect(failures).toEqual([]);
  });

  it('every organisation route refuses a malformed x-organisation-id (auth-core checks it; routes do not declare it)', async () => {
    const token = t.token('header-check@example.test');
    const routes = t.app.routeCatalog().filter((r) => r.organisation && r.method !== 'HEAD');
    const failures: string[] = [];
    for (const route of routes) {
      const res = await t.app.inject({
        method: route.method as 'GET',
        url: fillPath(route.url),
        headers: { authorization: `Bearer ${token}`, 'x-organisation-id': 'not-a-uuid' },
      });
      if (res.statusCode !== 400 || res.json().code !== 'organisation_id_malformed')
        failures.push(`${route.method} ${route.url} → ${res.statusCode} ${res.body.slice(0, 120)}`);
    }
    expect(routes.length).toBeGreaterThan(30);
    expect(failures).toEqual([]);
  });

  it('a route marked public but missing from PUBLIC_ROUTES stops the app from starting', async () => {
    const app = Fastify();
    await app.register(routePolicy);
    app.get('/v1/sneaky', { config: { auth: false } }, async () => ({ leaked: true }));
    await expect(app.ready()).rejects.toThrow(/GET \/v1\/sneaky/);
    await app.close().catch(() => {});
  });
});
