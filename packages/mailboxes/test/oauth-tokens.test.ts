import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  OAuthClientRefused,
  OAuthReauthRequired,
  OAuthTemporaryFailure,
  OAuthTokenCache,
  type OAuthTokenCacheOptions,
  oauthClientsFromEnv,
  type TokenRequest,
  xoauth2,
} from '../src/index.js';

/** A token endpoint on a real socket: counts refreshes, can rotate refresh tokens, refuse them or fail. */
describe('OAuth token cache (XOAUTH2)', () => {
  let server: http.Server;
  let tokenUrl: string;
  const seen: URLSearchParams[] = [];
  type Behaviour = 'ok' | 'rotate' | 'strict-rotate' | 'revoked' | 'down' | 'hang' | 'answer';
  let behaviour: Behaviour = 'ok';
  /** For 'answer': the status and body the endpoint gives. */
  let answer: { status: number; body: string } = { status: 200, body: '{}' };
  /** For 'strict-rotate': the refresh tokens that work; each use retires the token and issues the next. */
  const valid = new Set<string>();
  let issued = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        seen.push(form);
        res.setHeader('content-type', 'application/json');
        if (behaviour === 'hang') return;
        if (behaviour === 'answer') {
          res.statusCode = answer.status;
          return res.end(answer.body);
        }
        let next: string | undefined;
        if (behaviour === 'strict-rotate') {
          // Judged on arrival (the answer comes 20 ms later): a concurrent second use is refused.
          const used = form.get('refresh_token') ?? '';
          if (!valid.delete(used)) {
            res.statusCode = 400;
            return res.end(JSON.stringify({ error: 'invalid_grant' }));
          }
          next = `rt-s${++issued}`;
          valid.add(next);
        }
        if (behaviour === 'revoked') {
          res.statusCode = 400;
          return res.end(
            JSON.stringify({
              error: 'invalid_grant',
              error_description: 'Token has been expired or revoked.',
            }),
          );
        }
        if (behaviour === 'down') {
          res.statusCode = 503;
          return res.end('{}');
        }
        setTimeout(() => {
          res.end(
            JSON.stringify({
              access_token: `at-${seen.length}`,
              expires_in: 3600,
              ...(behaviour === 'rotate' ? { refresh_token: 'rt-rotated' } : {}),
              ...(next ? { refresh_token: next } : {}),
            }),
          );
        }, 20);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  });
  afterAll(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  afterEach(() => {
    behaviour = 'ok';
  });

  it('fetches once for concurrent callers, reuses until near expiry, then refreshes', async () => {
    let now = 1_000_000;
    const cache = new OAuthTokenCache({
      clients: { google: { clientId: 'cid', clientSecret: 'cs', tokenUrl } },
      now: () => now,
    });
    const request = { provider: 'google' as const, key: 'mb1:1', refreshToken: 'rt-1' };
    const tokens = await Promise.all([1, 2, 3].map(() => cache.accessToken(request)));
    expect(new Set(tokens).size).toBe(1);
    expect(cache.refreshes).toBe(1);
    expect(Object.fromEntries(seen.at(-1)!)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      client_id: 'cid',
      client_secret: 'cs',
    });
    now += 3_000_000; // 50 min: still valid
    expect(await cache.accessToken(request)).toBe(tokens[0]);
    now += 560_000; // within the 60 s margin
    expect(await cache.accessToken(request)).not.toBe(tokens[0]);
    expect(cache.refreshes).toBe(2);
  });

  it('persists a rotated refresh token (Microsoft) and sends the Microsoft scopes', async () => {
    behaviour = 'rotate';
    const rotated: string[] = [];
    const cache = new OAuthTokenCache({
      clients: oauthClientsFromEnv({ OAUTH_MICROSOFT_CLIENT_ID: 'm', OAUTH_MICROSOFT_TOKEN_URL: tokenUrl }),
      onRefreshTokenRotated: async (_r, token) => {
        rotated.push(token);
      },
    });
    await cache.accessToken({ provider: 'microsoft', key: 'mb2:1', refreshToken: 'rt-ms' });
    expect(rotated).toEqual(['rt-rotated']);
    expect(seen.at(-1)!.get('scope')).toContain('https://outlook.office.com/SMTP.Send');
    behaviour = 'ok';
  });

  it('only invalid_grant means re-auth; a refused client is an operator problem; outages and throttling are temporary', async () => {
    const cache = new OAuthTokenCache({
      clients: { google: { clientId: 'c', clientSecret: 's', tokenUrl } },
      timeoutMs: 300,
    });
    const failure = (key: string) =>
      cache.accessToken({ provider: 'google', key, refreshToken: 'r' }).then(
        () => undefined,
        (e: Error) => e,
      );
    behaviour = 'revoked';
    const revoked = await failure('k');
    expect(revoked).toBeInstanceOf(OAuthReauthRequired);
    expect(revoked?.message).toMatch(/invalid_grant/);
    const cases: [number, string, new (message: string) => Error][] = [
      [429, '{"error":"rate_limit_exceeded"}', OAuthTemporaryFailure],
      [503, '{"error":"temporarily_unavailable"}', OAuthTemporaryFailure],
      [500, 'Internal Server Error', OAuthTemporaryFailure],
      [408, '', OAuthTemporaryFailure],
      // Some providers send it with a 400.
      [400, '{"error":"temporarily_unavailable"}', OAuthTemporaryFailure],
      [200, '{"token_type":"Bearer"}', OAuthTemporaryFailure],
      [
        401,
        '{"error":"invalid_client","error_description":"The OAuth client was not found."}',
        OAuthClientRefused,
      ],
      [400, '{"error":"unauthorized_client"}', OAuthClientRefused],
      [404, 'Not Found', OAuthClientRefused],
    ];
    behaviour = 'answer';
    for (const [status, body, expected] of cases) {
      answer = { status, body };
      const error = await failure('k');
      expect(error, `${status} ${body}`).toBeInstanceOf(expected);
    }
    expect((await failure('k'))?.message).toMatch(/HTTP 404/);
    behaviour = 'hang';
    expect(await failure('k')).toBeInstanceOf(OAuthTemporaryFailure);
    // Nothing listens there: connection refused.
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const unreachable = await new OAuthTokenCache({
      clients: { google: { clientId: 'c', clientSecret: 's', tokenUrl: `http://127.0.0.1:${port}/token` } },
    })
      .accessToken({ provider: 'google', key: 'k', refreshToken: 'r' })
      .catch((e: Error) => e);
    expect(unreachable).toBeInstanceOf(OAuthTemporaryFailure);
    expect((unreachable as Error).message).toMatch(/ECONNREFUSED/);
    behaviour = 'ok';
    await expect(cache.accessToken({ provider: 'microsoft', key: 'k2', refreshToken: 'r' })).rejects.toThrow(
      OAuthClientRefused,
    );
  });

  describe('rotating refresh tokens', () => {
    /** A row in a database several processes share: what onRefreshTokenRotated stores and loadRefreshToken reads. */
    function sharedStore(first: string) {
      const row = { refreshToken: first };
      return {
        row,
        process(now: () => number, extra: Partial<OAuthTokenCacheOptions> = {}) {
          return new OAuthTokenCache({
            clients: { google: { clientId: 'c', clientSecret: 's', tokenUrl } },
            now,
            reloadDelayMs: 100,
            onRefreshTokenRotated: async (_r, token) => {
              row.refreshToken = token;
            },
            loadRefreshToken: async () => row.refreshToken,
            ...extra,
          });
        },
      };
    }
    const firstToken = () => {
      const token = `rt-s${++issued}`;
      valid.add(token);
      return token;
    };

    it('another process rotated it again: the stored token is used, not one this process rotated earlier', async () => {
      behaviour = 'strict-rotate';
      const first = firstToken();
      const store = sharedStore(first);
      let clockB = 1_000_000;
      const b = store.process(() => clockB);
      const a = store.process(() => 1_000_000);
      // Callers hold the token they read when their transport was built: the first one.
      const request: TokenRequest = { provider: 'google', key: 'mb:1', refreshToken: first };
      await b.accessToken(request);
      const second = store.row.refreshToken;
      expect(second).not.toBe(first);
      await a.accessToken(request);
      expect(store.row.refreshToken).not.toBe(second);
      clockB += 2 * 3_600_000;
      const before = seen.length;
      await b.accessToken(request);
      // One request, with the token A stored: no refused attempt with an older one.
      expect(seen.length - before).toBe(1);
      expect(valid.has(store.row.refreshToken)).toBe(true);
    });

    it('two processes refreshing at once: the one refused re-reads the stored token and retries once', async () => {
      behaviour = 'strict-rotate';
      const store = sharedStore(firstToken());
      const a = store.process(() => 1_000_000);
      const b = store.process(() => 1_000_000);
      const request: TokenRequest = { provider: 'google', key: 'mb:2', refreshToken: store.row.refreshToken };
      const tokens = await Promise.all([a.accessToken(request), b.accessToken(request)]);
      expect(tokens[0]).not.toBe(tokens[1]);
      expect(a.refreshes + b.refreshes).toBe(3);
      expect(valid.has(store.row.refreshToken)).toBe(true);
    });

    it('a token that stays refused after the re-read means re-auth', async () => {
      behaviour = 'strict-rotate';
      const store = sharedStore('rt-never-issued');
      const cache = store.process(() => 1_000_000);
      await expect(
        cache.accessToken({ provider: 'google', key: 'mb:3', refreshToken: 'rt-never-issued' }),
      ).rejects.toBeInstanceOf(OAuthReauthRequired);
      expect(cache.refreshes).toBe(1);
    });

    it('without a store the rotated token lives in memory; one that could not be stored is kept and stored later', async () => {
      behaviour = 'strict-rotate';
      let now = 1_000_000;
      const first = firstToken();
      const memory = new OAuthTokenCache({
        clients: { google: { clientId: 'c', clientSecret: 's', tokenUrl } },
        now: () => now,
      });
      const request: TokenRequest = { provider: 'google', key: 'mb:4', refreshToken: first };
      await memory.accessToken(request);
      now += 2 * 3_600_000;
      await expect(memory.accessToken(request)).resolves.toMatch(/^at-/);

      const store = sharedStore(firstToken());
      let down = true;
      const cache = store.process(() => now, {
        onRefreshTokenRotated: async (_r, token) => {
          if (down) throw Object.assign(new Error('connection terminated'), { code: '57P01' });
          store.row.refreshToken = token;
        },
      });
      const stored = { ...request, key: 'mb:5', refreshToken: store.row.refreshToken };
      const failed = await cache.accessToken(stored).catch((e: Error) => e);
      expect(failed).toBeInstanceOf(OAuthTemporaryFailure);
      expect((failed as Error).message).toMatch(/could not be stored \(57P01\)/);
      down = false;
      // The provider retired the stored token; the one only this process knows still works.
      await expect(cache.accessToken(stored)).resolves.toMatch(/^at-/);
      expect(valid.has(store.row.refreshToken)).toBe(true);
    });
  });

  it('builds the XOAUTH2 initial response', () => {
    expect(Buffer.from(xoauth2('a@b.test', 'tok'), 'base64').toString()).toBe(
      'user=a@b.test\x01auth=Bearer tok\x01\x01',
    );
  });
});
