import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ label: 'ops' });
});
afterAll(async () => {
  await t?.close();
});

describe('operations', () => {
  it('GET /health answers without a token', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('GET /ready checks database and Redis', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('ready');
    expect(Object.keys(body.checks).sort()).toEqual(['database', 'redis']);
  });

  it('GET /openapi.json describes the routes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const spec = res.json();
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toContain('/v1/me');
    // Every route but the Swagger UI's own assets, the dev-only JWKS and the CORS preflight is described.
    const missing = t.app
      .routeCatalog()
      .filter((route) => !route.url.startsWith('/docs') && route.method !== 'HEAD')
      .filter((route) => route.url !== '/.well-known/jwks.json' && route.method !== 'OPTIONS')
      .filter((route) => {
        const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
        return !spec.paths[path]?.[route.method.toLowerCase()];
      })
      .map((route) => `${route.method} ${route.url}`);
    expect(missing).toEqual([]);
  });

  it('serves the dev issuer keys and the Swagger UI without a token', async () => {
    const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(jwks.statusCode).toBe(200);
    const kid = JSON.parse(Buffer.from(t.token('k@example.test').split('.')[0]!, 'base64url').toString()).kid;
    expect(jwks.json().keys.map((key: { kid: string }) => key.kid)).toContain(kid);
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
  });

  it('unknown routes answer problem+json 404', async () => {
    const anonymous = await t.app.inject({ method: 'GET', url: '/nope' });
    expect(anonymous.statusCode).toBe(401);
    // A valid token is enough: no organisation is needed to learn a route does not exist.
    const token = t.token('lost@example.test');
    const res = await t.app.inject({
      method: 'GET',
      url: '/nope',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({
      status: 404,
      code: 'route_not_found',
      instance: res.headers['x-request-id'],
    });
  });

  it('creates an organisation and shows it on /v1/me', async () => {
    const user = await t.signUp();
    const me = await t.request(user, { method: 'GET', url: '/v1/me', organisationId: null });
    expect(me.statusCode).toBe(200);
    expect(me.json().memberships).toEqual([
      expect.objectContaining({ id: user.organisationId, role: 'owner', membershipStatus: 'active' }),
    ]);
  });
});
