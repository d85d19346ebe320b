import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuthReauthRequired, OAuthTokenCache, oauthClientsFromEnv, xoauth2 } from '../src/index.js';

/** A token endpoint on a real socket: counts refreshes, can rotate refresh tokens or refuse them. */
describe('OAuth token cache (XOAUTH2)', () => {
  let server: http.Server;
  let tokenUrl: string;
  const seen: URLSearchParams[] = [];
  let behaviour: 'ok' | 'rotate' | 'revoked' | 'down' = 'ok';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        seen.push(form);
        res.setHeader('content-type', 'application/json');
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
            }),
          );
        }, 20);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

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

  it('a refused refresh token means re-auth; a server error does not', async () => {
    const cache = new OAuthTokenCache({
      clients: { google: { clientId: 'c', clientSecret: 's', tokenUrl } },
    });
    behaviour = 'revoked';
    await expect(
      cache.accessToken({ provider: 'google', key: 'k', refreshToken: 'r' }),
    ).rejects.toBeInstanceOf(OAuthReauthRequired);
    behaviour = 'down';
    const error = await cache
      .accessToken({ provider: 'google', key: 'k', refreshToken: 'r' })
      .catch((e) => e);
    expect(error).not.toBeInstanceOf(OAuthReauthRequired);
    expect(error.message).toMatch(/HTTP 503/);
    behaviour = 'ok';
    await expect(cache.accessToken({ provider: 'microsoft', key: 'k2', refreshToken: 'r' })).rejects.toThrow(
      /no OAuth client configured for microsoft/,
    );
  });

  it('builds the XOAUTH2 initial response', () => {
    expect(Buffer.from(xoauth2('a@b.test', 'tok'), 'base64').toString()).toBe(
      'user=a@b.test\x01auth=Bearer tok\x01\x01',
    );
  });
});
