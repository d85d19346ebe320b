import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppOptions } from '../../src/app.js';
import securityHeaders, { API_CSP, PAGE_CSP } from '../../src/plugins/app/security-headers.js';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

/**
 * Security headers on every answer a browser or a tester can get from the API: success, every
 * refusal (401, 403, 404, 429 and body errors), the public recipient pages and the probes.
 */
let t: TestApp;
let owner: TestUser;
let viewer: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'headers', env: { RATE_LIMIT_MAX: '40' } });
  owner = await t.signUp('owner@headers.test', 'Headers Org');
  viewer = await t.join(owner, 'viewer');
});
afterAll(async () => {
  await t?.close();
});

const COMMON = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

describe('security headers', () => {
  it('every API answer, refusals included, is never sniffed, framed or cached with its credentials', async () => {
    const answers = {
      ok: await t.request(viewer, { method: 'GET', url: '/v1/companies' }),
      unauthenticated: await t.app.inject({ method: 'GET', url: '/v1/companies' }),
      badToken: await t.app.inject({
        method: 'GET',
        url: '/v1/companies',
        headers: { authorization: 'Bearer not-a-token' },
      }),
      roleTooLow: await t.request(viewer, { method: 'POST', url: '/v1/companies', payload: { name: 'X' } }),
      notAMember: await t.request(viewer, {
        method: 'GET',
        url: '/v1/companies',
        organisationId: '00000000-0000-4000-8000-000000000000',
      }),
      unknownRoute: await t.request(viewer, { method: 'GET', url: '/v1/nothing-here' }),
      badUrl: await t.request(viewer, { method: 'GET', url: '/v1/companies/%E0%A4%A' }),
      malformed: await t.request(owner, {
        method: 'POST',
        url: '/v1/companies',
        headers: { 'content-type': 'application/json' },
        payload: '{"name":',
      }),
    };
    const statuses = Object.fromEntries(Object.entries(answers).map(([name, r]) => [name, r.statusCode]));
    expect(statuses).toEqual({
      ok: 200,
      unauthenticated: 401,
      badToken: 401,
      roleTooLow: 403,
      notAMember: 403,
      unknownRoute: 404,
      badUrl: 400,
      malformed: 400,
    });
    for (const [name, response] of Object.entries(answers)) {
      expect(response.headers, name).toMatchObject({ ...COMMON, 'content-security-policy': API_CSP });
      // Not in production: no HSTS on a plain-http development host.
      expect(response.headers['strict-transport-security'], name).toBeUndefined();
    }
    for (const name of ['ok', 'badToken', 'roleTooLow', 'notAMember', 'unknownRoute', 'malformed'] as const) {
      expect(answers[name].headers['cache-control'], name).toBe('no-store');
    }
  });

  it('a recipient page keeps its token to itself and cannot be framed; probes get the headers too', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/u/some-token-of-a-recipient' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers).toMatchObject({
      ...COMMON,
      'content-security-policy': PAGE_CSP,
      'cache-control': 'no-store',
    });
    // Swagger UI keeps the CSP it sets for its own page (scripts from itself).
    const docs = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-security-policy']).toMatch(/script-src/);
    expect(docs.headers).toMatchObject(COMMON);
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.headers).toMatchObject(COMMON);
  });

  it('a rate-limited answer carries them as well', async () => {
    let last = await t.request(owner, { method: 'GET', url: '/v1/companies' });
    for (let i = 0; i < 45 && last.statusCode !== 429; i += 1)
      last = await t.request(owner, { method: 'GET', url: '/v1/companies' });
    expect(last.statusCode).toBe(429);
    expect(last.headers).toMatchObject({
      ...COMMON,
      'content-security-policy': API_CSP,
      'cache-control': 'no-store',
    });
  });

  it('adds HSTS in production and keeps a header a route set itself', async () => {
    const app = Fastify();
    await app.register(securityHeaders, { config: { nodeEnv: 'production' } } as unknown as AppOptions);
    app.get('/own', async (_request, reply) =>
      reply.header('content-security-policy', "default-src 'self'").send({ ok: true }),
    );
    app.get('/plain', async () => ({ ok: true }));
    const own = await app.inject({ method: 'GET', url: '/own' });
    expect(own.headers['content-security-policy']).toBe("default-src 'self'");
    const plain = await app.inject({ method: 'GET', url: '/plain' });
    expect(plain.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(plain.headers['cache-control']).toBeUndefined();
    await app.close();
  });
});
