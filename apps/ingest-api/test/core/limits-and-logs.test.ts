import { Writable } from 'node:stream';
import { freePort } from '@prospectflow/testing';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';

const apps: TestApp[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
});

async function testApp(env: Record<string, string>, extra: Parameters<typeof buildTestApp>[0] = {}) {
  const t = await buildTestApp({ label: 'limits', env, ...extra });
  apps.push(t);
  return t;
}

describe('rate limits', () => {
  it.each([
    ['Redis store', {}],
    ['in-process store (no REDIS_URL)', { REDIS_URL: '' }],
  ])('limit per user and organisation with the %s', async (_label, env) => {
    const t = await testApp({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000', ...env });
    const alice = await t.signUp();
    const bob = await t.signUp();
    const codes: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      codes.push((await t.request(alice, { method: 'GET', url: '/v1/companies' })).statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429]);
    const limited = await t.request(alice, { method: 'GET', url: '/v1/companies' });
    expect(limited.headers['content-type']).toContain('application/problem+json');
    expect(limited.json()).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another user (and organisation) has a budget of their own; probes are never limited.
    expect((await t.request(bob, { method: 'GET', url: '/v1/companies' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('counts requests that fail before the handler (bad query, malformed or invalid body) against the same budget', async () => {
    const t = await testApp({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' });
    const alice = await t.signUp();
    const json = { 'content-type': 'application/json' };
    const bad: InjectOptions[] = [
      { method: 'GET', url: '/v1/companies?limit=oops' },
      { method: 'POST', url: '/v1/companies', headers: json, payload: '{"name":' },
      { method: 'POST', url: '/v1/companies', payload: { name: 'x', unknownField: true } },
    ];
    const codes: number[] = [];
    for (const request of bad) codes.push((await t.request(alice, request)).statusCode);
    expect(codes).toEqual([400, 400, 400]);
    // The budget is spent: the next request, however valid, is refused before its body is read.
    const next = await t.request(alice, { method: 'POST', url: '/v1/companies', payload: { name: 'Valid' } });
    expect(next.statusCode).toBe(429);
    expect(next.json()).toMatchObject({ code: 'rate_limited' });
  });

  it("counts a signed-in caller's requests to unknown paths (404) against the same budget", async () => {
    const t = await testApp({ RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' });
    // Each is authenticated (token verified, session loaded) but answered by the 404 handler,
    // which is no route, so the per-route limiter never saw it.
    for (const request of [
      { method: 'GET', url: '/v1/no-such-route' },
      { method: 'POST', url: '/v1/companies/x/y/z', payload: { name: 'x' } },
    ] satisfies InjectOptions[]) {
      // Signing up spends 2 of the user's budget outside an organisation (POST /v1/organisations,
      // GET /v1/me), the bucket the 404 handler (no organisation) counts in.
      const alice = await t.signUp();
      const codes: number[] = [];
      for (let i = 0; i < 5; i += 1) codes.push((await t.request(alice, request)).statusCode);
      expect(codes, `${request.method} ${request.url}`).toEqual([404, 404, 404, 429, 429]);
      // The same budget as the caller's routes: spent here, refused there.
      expect((await t.request(alice, { method: 'GET', url: '/v1/me' })).statusCode).toBe(429);
    }
    // Probes and public pages are untouched; an unknown path without a token stays a 401 refusal.
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it.each([
    ['Redis store', {}],
    ['in-process store (no REDIS_URL)', { REDIS_URL: '' }],
  ])(
    'limits refused requests (401/403) per client address, before the token is verified, with the %s',
    async (_label, env) => {
      const t = await testApp({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000', ...env });
      const alice = await t.signUp();
      const bob = await t.signUp();
      const viewer = await t.join(alice, 'viewer');
      const forged = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
      // Each kind of refusal from an address of its own.
      const kinds: Array<[string, string, InjectOptions]> = [
        ['no token', '198.51.100.1', { method: 'GET', url: '/v1/companies' }],
        [
          'forged token',
          '198.51.100.2',
          { method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${forged}` } },
        ],
        [
          'another organisation',
          '198.51.100.3',
          {
            method: 'GET',
            url: '/v1/companies',
            headers: { ...alice.headers, 'x-organisation-id': bob.organisationId },
          },
        ],
        [
          'viewer writing',
          '198.51.100.4',
          { method: 'POST', url: '/v1/companies', headers: viewer.headers, payload: { name: 'x' } },
        ],
        // Refused with 400 by the organisation scope (onRequest), before either budget was counted.
        [
          'malformed organisation header',
          '198.51.100.5',
          {
            method: 'GET',
            url: '/v1/companies',
            headers: { authorization: alice.headers.authorization!, 'x-organisation-id': 'garbage' },
          },
        ],
        [
          'no organisation header',
          '198.51.100.6',
          { method: 'GET', url: '/v1/companies', headers: { authorization: alice.headers.authorization! } },
        ],
      ];
      const expected: Record<string, number> = {
        'no token': 401,
        'forged token': 401,
        'another organisation': 403,
        'viewer writing': 403,
        'malformed organisation header': 400,
        'no organisation header': 400,
      };
      for (const [kind, remoteAddress, request] of kinds) {
        const codes: number[] = [];
        let last: LightMyRequestResponse | undefined;
        for (let i = 0; i < 5; i += 1) {
          last = await t.app.inject({ ...request, remoteAddress });
          codes.push(last.statusCode);
        }
        const refused = expected[kind];
        expect(codes, kind).toEqual([refused, refused, refused, 429, 429]);
        expect(last!.headers['content-type']).toContain('application/problem+json');
        expect(last!.json()).toMatchObject({ status: 429, code: 'rate_limited' });
        expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
      }
      // Over its budget of refusals, the address is refused before its token is looked at...
      const fromLimited = { remoteAddress: '198.51.100.1' };
      expect(
        (await t.app.inject({ method: 'GET', url: '/v1/companies', headers: alice.headers, ...fromLimited }))
          .statusCode,
      ).toBe(429);
      // ...while the same user from another address is served, and accepted requests do not
      // spend the refusal budget (they count per user and organisation, as before).
      expect(
        (await t.request(bob, { method: 'GET', url: '/v1/companies', remoteAddress: '198.51.100.9' }))
          .statusCode,
      ).toBe(200);
      // Public pages and probes keep their own limits.
      expect(
        (await t.app.inject({ method: 'GET', url: '/u/not-a-token', ...fromLimited })).statusCode,
      ).not.toBe(429);
      expect((await t.app.inject({ method: 'GET', url: '/health', ...fromLimited })).statusCode).toBe(200);
    },
  );
});

describe('body limits', () => {
  it('refuses a JSON body over BODY_LIMIT_BYTES with 413 body_too_large', async () => {
    const t = await testApp({ BODY_LIMIT_BYTES: '2048' });
    const user = await t.signUp();
    const res = await t.request(user, {
      method: 'POST',
      url: '/v1/companies',
      payload: { name: 'Big', description: 'x'.repeat(4096) },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'body_too_large' });
  });
});

describe('readiness', () => {
  it('answers 200 "degraded" naming Redis when Redis is down, and still serves authenticated requests', async () => {
    const deadPort = await freePort();
    const t = await testApp({ REDIS_URL: `redis://127.0.0.1:${deadPort}` });
    const res = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'degraded', degraded: ['redis'] });
    expect(res.json().checks.database.ok).toBe(true);
    expect(res.json().checks.redis.ok).toBe(false);
    // Rate limiter fails open, sessions fall back to PostgreSQL.
    const user = await t.signUp();
    expect((await t.request(user, { method: 'GET', url: '/v1/companies' })).statusCode).toBe(200);
  });

  it('answers 503 naming the database when PostgreSQL is unreachable', async () => {
    const deadPort = await freePort();
    const t = await testApp({ DATABASE_URL: `postgres://prospectflow_app:x@127.0.0.1:${deadPort}/nowhere` });
    const res = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'not_ready', failed: ['database'] });
    expect(res.headers['retry-after']).toBe('5');
  });
});

describe('metrics', () => {
  it('exposes pool gauges and per-route request durations', async () => {
    const t = await testApp({});
    const user = await t.signUp();
    await t.request(user, { method: 'GET', url: '/v1/companies' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    for (const name of ['pg_pool_size', 'pg_pool_idle', 'pg_pool_waiting', 'pg_pool_max']) {
      expect(res.body).toMatch(new RegExp(`^${name} \\d+`, 'm'));
    }
    expect(res.body).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/v1\/companies",status_code="200"\} 1/,
    );
  });
});

describe('logs and request ids', () => {
  it('logs each request with its id and never the bearer token', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const t = await testApp({ LOG_LEVEL: 'debug' }, { logStream });
    const user = await t.signUp();
    const res = await t.request(user, { method: 'GET', url: '/v1/companies/not-a-uuid' });
    expect(res.statusCode).toBe(400);
    const requestId = res.headers['x-request-id'] as string;
    expect(res.json().instance).toBe(requestId);
    const mine = lines.map((line) => JSON.parse(line)).filter((entry) => entry.reqId === requestId);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    const bad = await t.app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { authorization: `Bearer ${user.token}x` },
    });
    expect(bad.statusCode).toBe(401);
    const all = lines.join('\n');
    expect(all).not.toContain(user.token.split('.')[2]!);
    expect(all).not.toContain(user.token.slice(0, 40));
  });
});

function captureLogs(): { lines: string[]; logStream: Writable } {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, logStream };
}

describe('request log redaction', () => {
  it('never logs path tokens (/u/…, /t/…) nor query strings', async () => {
    const { lines, logStream } = captureLogs();
    const t = await testApp({ LOG_LEVEL: 'info' }, { logStream });
    const secret = 'Zq8secretTokenValue0123456789';
    await t.app.inject({ method: 'GET', url: `/u/${secret}` });
    await t.app.inject({ method: 'GET', url: `/u/${secret}/erasure?lang=fr` });
    await t.app.inject({ method: 'GET', url: `/t/${secret}.gif` });
    await t.app.inject({ method: 'GET', url: `/health?email=${secret}%40example.com` });
    const all = lines.join('\n');
    expect(all).not.toContain(secret);
    const urls = lines.map((line) => JSON.parse(line).req?.url).filter(Boolean);
    expect(urls).toEqual(
      expect.arrayContaining([
        '/u/[redacted]',
        '/u/[redacted]/erasure?[redacted]',
        '/t/[redacted]',
        '/health?[redacted]',
      ]),
    );
  });

  it('redacts a token path however it is spelled: percent-encoded (routed as /u/…), doubled slashes, upper case', async () => {
    const { lines, logStream } = captureLogs();
    const t = await testApp({ LOG_LEVEL: 'info' }, { logStream });
    const secret = 'Yk3otherTokenValue9876543210';
    // The router decodes the path: /%75/{token} is the unsubscribe page, with the token.
    const routed = await t.app.inject({ method: 'GET', url: `/%75/${secret}` });
    expect(routed.statusCode).toBe(200);
    await t.app.inject({ method: 'GET', url: `/%74/${secret}.gif` });
    await t.app.inject({ method: 'GET', url: `//u/${secret}` });
    await t.app.inject({ method: 'GET', url: `/U/${secret}?lang=fr` });
    const all = lines.join('\n');
    expect(all).not.toContain(secret);
    const urls = lines.map((line) => JSON.parse(line).req?.url).filter(Boolean);
    expect(urls).toEqual(
      expect.arrayContaining(['/u/[redacted]', '/t/[redacted]', '/u/[redacted]?[redacted]']),
    );
  });
});

describe('trusted proxies', () => {
  const forwardedIp = async (env: Record<string, string>) => {
    const { lines, logStream } = captureLogs();
    const t = await testApp({ LOG_LEVEL: 'info', ...env }, { logStream });
    await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-forwarded-for': '203.0.113.9' } });
    return lines.map((line) => JSON.parse(line).req?.remoteAddress).find(Boolean);
  };

  it('honours X-Forwarded-For only from a trusted hop count or CIDR', async () => {
    expect(await forwardedIp({})).toBe('127.0.0.1');
    expect(await forwardedIp({ TRUST_PROXY: '1' })).toBe('203.0.113.9');
    expect(await forwardedIp({ TRUST_PROXY: '127.0.0.1/32' })).toBe('203.0.113.9');
    // The direct peer (127.0.0.1) is not one of the trusted proxies: the header is ignored.
    expect(await forwardedIp({ TRUST_PROXY: '10.0.0.0/8' })).toBe('127.0.0.1');
  });
});
