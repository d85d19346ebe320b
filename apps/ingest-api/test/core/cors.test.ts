import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { CORS_EXPOSED_HEADERS } from '../../src/plugins/external/cors.js';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

const APP = 'https://app.example.test';
const DEV = 'http://localhost:5173';
const EVIL = 'https://evil.example.test';

const preflight = (origin: string, url = '/v1/companies') => ({
  method: 'OPTIONS' as const,
  url,
  headers: {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization,content-type,x-organisation-id',
  },
});

let t: TestApp;
let closed: TestApp;
let user: TestUser;
beforeAll(async () => {
  [t, closed] = await Promise.all([
    buildTestApp({ label: 'cors', env: { CORS_ORIGINS: `${APP}, ${DEV}` } }),
    buildTestApp({ label: 'cors-default' }),
  ]);
  user = await t.signUp();
});
afterAll(async () => {
  await Promise.all([t?.close(), closed?.close()]);
});

describe('CORS (CORS_ORIGINS)', () => {
  it('answers a preflight from an allowed origin, before authentication', async () => {
    for (const origin of [APP, DEV]) {
      const res = await t.app.inject(preflight(origin));
      expect(res.statusCode, res.body).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(String(res.headers['access-control-allow-methods']).split(/,\s*/)).toEqual(
        expect.arrayContaining(['GET', 'POST', 'PATCH', 'DELETE']),
      );
      expect(String(res.headers['access-control-allow-headers']).split(/,\s*/)).toEqual(
        expect.arrayContaining(['authorization', 'content-type', 'x-organisation-id', 'idempotency-key']),
      );
      expect(res.headers['access-control-max-age']).toBe('600');
      expect(String(res.headers.vary)).toMatch(/origin/i);
    }
  });

  it('refuses a preflight from any other origin: no CORS header, no success', async () => {
    for (const origin of [EVIL, `${APP}.evil.test`, 'null', APP.replace('https', 'http')]) {
      const res = await t.app.inject(preflight(origin));
      expect(res.statusCode, origin).toBeGreaterThanOrEqual(400);
      expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
      expect(res.headers['access-control-allow-credentials'], origin).toBeUndefined();
      expect(res.headers['access-control-allow-methods'], origin).toBeUndefined();
    }
  });

  it('lets the allowed origin read answers and their rate-limit, request-id and Location headers', async () => {
    const created = await t.request(user, {
      method: 'POST',
      url: '/v1/companies',
      headers: { origin: APP },
      payload: { name: 'Cors Corp' },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.headers['access-control-allow-origin']).toBe(APP);
    expect(created.headers['access-control-allow-credentials']).toBe('true');
    const exposed = String(created.headers['access-control-expose-headers']).split(/,\s*/);
    expect(exposed).toEqual(CORS_EXPOSED_HEADERS);
    // The headers it exposes are really there.
    expect(created.headers.location).toMatch(/^\/v1\/companies\//);
    expect(created.headers['x-request-id']).toBeTruthy();
    expect(created.headers['x-ratelimit-limit']).toBeTruthy();

    // A problem is readable too (the browser app shows the 401, not a CORS failure).
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/companies', headers: { origin: APP } });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['access-control-allow-origin']).toBe(APP);
  });

  it('adds to Vary rather than replacing it: authenticated answers vary on Origin and the credentials', async () => {
    const names = (value: unknown) =>
      String(value ?? '')
        .split(',')
        .map((name) => name.trim().toLowerCase());
    const ok = await t.request(user, { method: 'GET', url: '/v1/companies', headers: { origin: APP } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(names(ok.headers.vary)).toEqual(
      expect.arrayContaining(['origin', 'authorization', 'x-organisation-id']),
    );
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/companies', headers: { origin: APP } });
    expect(anonymous.statusCode).toBe(401);
    expect(names(anonymous.headers.vary)).toEqual(expect.arrayContaining(['origin', 'authorization']));
    const missing = await t.request(user, {
      method: 'GET',
      url: '/v1/companies/00000000-0000-4000-8000-000000000000',
      headers: { origin: APP },
    });
    expect(missing.statusCode).toBe(404);
    expect(names(missing.headers.vary)).toEqual(expect.arrayContaining(['origin', 'authorization']));
  });

  it('sends no CORS header to another origin on a real request', async () => {
    const res = await t.request(user, { method: 'GET', url: '/v1/companies', headers: { origin: EVIL } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers['access-control-expose-headers']).toBeUndefined();
  });

  it('allows no origin by default', async () => {
    const res = await closed.app.inject(preflight(APP));
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const health = await closed.app.inject({ method: 'GET', url: '/health', headers: { origin: APP } });
    expect(health.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a CORS_ORIGINS that could never match at boot, naming it', () => {
    for (const value of ['*', 'https://app.example.test/', 'app.example.test']) {
      let error: unknown;
      try {
        loadConfig({ ...t.env, CORS_ORIGINS: value });
      } catch (caught) {
        error = caught;
      }
      expect(error, value).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.join('\n')).toContain(
        'CORS_ORIGINS must be comma-separated origins',
      );
    }
  });
});
