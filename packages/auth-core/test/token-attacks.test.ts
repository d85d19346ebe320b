import { createHmac, createSign } from 'node:crypto';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64url, publicJwk, signRs256 } from '../src/dev/jws.js';
import { StaticJwksFetcher } from '../src/jwks-fetchers.js';
import { createTokenVerifier } from '../src/verifier.js';
import { buildTestApp } from './support/app.js';
import {
  accessClaims,
  ISSUER,
  idClaims,
  jwksFor,
  mainKey,
  OTHER_POOL_ID,
  otherKey,
  rawToken,
  sign,
  testConfig,
} from './support/keys.js';
import { expectProblem } from './support/problem.js';

const now = () => Math.floor(Date.now() / 1000);
let handlerRuns = 0;
let app: FastifyInstance;

beforeAll(async () => {
  const verifier = createTokenVerifier(testConfig(), {
    fetcher: new StaticJwksFetcher(() => jwksFor(mainKey)),
  });
  app = await buildTestApp({ verifier, onHandler: () => handlerRuns++ });
});
afterAll(async () => {
  await app.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const get = (headers: Record<string, string>, url = '/me') => app.inject({ method: 'GET', url, headers });

function hs256WithPublicPem(payload: Record<string, unknown>): string {
  const pem = mainKey.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const input = `${base64url(JSON.stringify({ alg: 'HS256', kid: mainKey.kid }))}.${base64url(JSON.stringify(payload))}`;
  return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
}

/** Signs a payload given as raw JSON text (for values JSON.stringify cannot produce). */
function signWithRawPayload(json: string): string {
  const input = `${base64url(JSON.stringify({ alg: 'RS256', kid: mainKey.kid }))}.${base64url(json)}`;
  return `${input}.${base64url(createSign('RSA-SHA256').update(input).sign(mainKey.privateKey))}`;
}

function flipLastSignatureChar(token: string): string {
  const last = token.at(-2) === 'A' ? 'B' : 'A';
  return `${token.slice(0, -2)}${last}${token.at(-1)}`;
}

function withPayload(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${base64url(JSON.stringify(payload))}.${signature}`;
}

describe('valid tokens', () => {
  it.each([
    ['an access token', () => sign(accessClaims())],
    [
      'an access token from the second configured pool',
      () => sign(accessClaims({ iss: `https://cognito-idp.eu-west-1.amazonaws.com/${OTHER_POOL_ID}` })),
    ],
    [
      'the global issuer-cognito-idp issuer form',
      () => sign(accessClaims({ iss: ISSUER.replace('cognito-idp.', 'issuer-cognito-idp.') })),
    ],
    ['the second configured client id', () => sign(accessClaims({ client_id: 'secondclient' }))],
    ['expiry 2 s ago, inside the 5 s clock tolerance', () => sign(accessClaims({ exp: now() - 2 }))],
  ])('accepts %s', async (_name, token) => {
    const response = await get(bearer(token()));
    expect(response.statusCode).toBe(200);
    expect(response.json().sub).toBe('11111111-2222-4333-8444-555555555555');
  });

  it('ignores __proto__ claims', async () => {
    const token = sign({ ...accessClaims(), ['__proto__']: { polluted: true } });
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(Object.keys(payload)).toContain('__proto__');
    const response = await get(bearer(token));
    expect(response.statusCode).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('token attack catalogue', () => {
  const cases: Array<[string, () => string, string]> = [
    [
      'alg none with an empty signature',
      () => `${rawToken({ alg: 'none', kid: mainKey.kid }, accessClaims(), '')}`,
      'token_malformed',
    ],
    [
      'alg none with a junk signature',
      () => rawToken({ alg: 'none', kid: mainKey.kid }, accessClaims()),
      'token_invalid_signature',
    ],
    [
      'alg None (case variant)',
      () => rawToken({ alg: 'None', kid: mainKey.kid }, accessClaims()),
      'token_invalid_signature',
    ],
    [
      'alg NONE (case variant)',
      () => rawToken({ alg: 'NONE', kid: mainKey.kid }, accessClaims()),
      'token_invalid_signature',
    ],
    [
      'HS256 keyed with the RSA public key PEM',
      () => hs256WithPublicPem(accessClaims()),
      'token_invalid_signature',
    ],
    [
      'RS512 header against an RS256 JWK',
      () => sign(accessClaims(), { header: { alg: 'RS512' } }),
      'token_invalid_signature',
    ],
    ['PS256 header', () => sign(accessClaims(), { header: { alg: 'PS256' } }), 'token_invalid_signature'],
    ['ES256K header', () => sign(accessClaims(), { header: { alg: 'ES256K' } }), 'token_invalid_signature'],
    [
      'an unknown kid',
      () => sign(accessClaims(), { header: { kid: 'unknown-key-id' } }),
      'token_unknown_key',
    ],
    ['no kid', () => signRs256({ alg: 'RS256' }, accessClaims(), mainKey.privateKey), 'token_unknown_key'],
    ['a numeric kid', () => sign(accessClaims(), { header: { kid: 42 } }), 'token_malformed'],
    [
      'a path-traversal kid',
      () => sign(accessClaims(), { header: { kid: '../../../../dev/null' } }),
      'token_unknown_key',
    ],
    [
      'an SQL-injection kid',
      () => sign(accessClaims(), { header: { kid: "' OR '1'='1" } }),
      'token_unknown_key',
    ],
    [
      'an embedded attacker jwk with its own kid',
      () =>
        sign(accessClaims(), { key: otherKey, header: { jwk: publicJwk(otherKey.publicKey, otherKey.kid) } }),
      'token_unknown_key',
    ],
    [
      'an attacker jku with its own kid',
      () => sign(accessClaims(), { key: otherKey, header: { jku: 'https://attacker.example/jwks.json' } }),
      'token_unknown_key',
    ],
    [
      'an embedded jwk under our kid, signed by the attacker',
      () =>
        sign(accessClaims(), {
          key: otherKey,
          header: { kid: mainKey.kid, jwk: publicJwk(otherKey.publicKey, mainKey.kid) },
        }),
      'token_invalid_signature',
    ],
    [
      'an x5u header under our kid, signed by the attacker',
      () =>
        sign(accessClaims(), {
          key: otherKey,
          header: { kid: mainKey.kid, x5u: 'https://attacker.example/cert.pem' },
        }),
      'token_invalid_signature',
    ],
    [
      'another key under our kid',
      () => sign(accessClaims(), { key: otherKey, header: { kid: mainKey.kid } }),
      'token_invalid_signature',
    ],
    [
      'a tampered payload',
      () => withPayload(sign(accessClaims()), accessClaims({ sub: 'someone-else' })),
      'token_invalid_signature',
    ],
    [
      'a flipped signature byte',
      () => flipLastSignatureChar(sign(accessClaims())),
      'token_invalid_signature',
    ],
    ['an expired token', () => sign(accessClaims({ exp: now() - 3600 })), 'token_expired'],
    [
      'expiry 30 s ago, outside the clock tolerance',
      () => sign(accessClaims({ exp: now() - 30 })),
      'token_expired',
    ],
    ['nbf in the future', () => sign(accessClaims({ nbf: now() + 600 })), 'token_not_yet_valid'],
    ['no exp', () => sign(accessClaims({ exp: undefined })), 'token_missing_claim'],
    ['exp as a string', () => sign(accessClaims({ exp: String(now() + 3600) })), 'token_malformed'],
    [
      'exp 1e400 (parsed as Infinity)',
      () => signWithRawPayload(JSON.stringify(accessClaims({ exp: 0 })).replace('"exp":0', '"exp":1e400')),
      'token_malformed',
    ],
    ['no iat', () => sign(accessClaims({ iat: undefined })), 'token_missing_claim'],
    ['iat as a string', () => sign(accessClaims({ iat: String(now()) })), 'token_malformed'],
    ['no sub', () => sign(accessClaims({ sub: undefined })), 'token_missing_claim'],
    ['a numeric sub', () => sign(accessClaims({ sub: 12345 })), 'token_malformed'],
    ['an empty sub', () => sign(accessClaims({ sub: '' })), 'token_missing_claim'],
    ['a sub over 128 characters', () => sign(accessClaims({ sub: 'a'.repeat(129) })), 'token_missing_claim'],
    ['a sub holding NUL', () => sign(accessClaims({ sub: 'ada\u0000' })), 'token_missing_claim'],
    [
      'an issuer from another region',
      () => sign(accessClaims({ iss: ISSUER.replace('eu-west-1', 'us-east-1') })),
      'token_wrong_issuer',
    ],
    ['no issuer', () => sign(accessClaims({ iss: undefined })), 'token_wrong_issuer'],
    ['a slash-suffixed issuer', () => sign(accessClaims({ iss: `${ISSUER}/` })), 'token_wrong_issuer'],
    [
      'an http:// issuer',
      () => sign(accessClaims({ iss: ISSUER.replace('https:', 'http:') })),
      'token_wrong_issuer',
    ],
    [
      'an unconfigured pool',
      () => sign(accessClaims({ iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Unknown9' })),
      'token_wrong_issuer',
    ],
    ['a wrong client_id', () => sign(accessClaims({ client_id: 'someoneelse' })), 'token_wrong_client'],
    ['no client_id', () => sign(accessClaims({ client_id: undefined })), 'token_wrong_client'],
    ['an ID token where access tokens are required', () => sign(idClaims()), 'token_wrong_use'],
    ['no token_use', () => sign(accessClaims({ token_use: undefined })), 'token_wrong_use'],
    ['token_use refresh', () => sign(accessClaims({ token_use: 'refresh' })), 'token_wrong_use'],
    [
      'a header that is not JSON',
      () => `${base64url('{"alg":')}.${base64url(JSON.stringify(accessClaims()))}.c2ln`,
      'token_malformed',
    ],
    [
      'a payload that is not JSON',
      () => `${base64url(JSON.stringify({ alg: 'RS256', kid: mainKey.kid }))}.${base64url('not json')}.c2ln`,
      'token_malformed',
    ],
    [
      'a payload that is a JSON array',
      () => rawToken({ alg: 'RS256', kid: mainKey.kid }, [1, 2, 3]),
      'token_malformed',
    ],
    [
      'a payload that is a JSON string',
      () => rawToken({ alg: 'RS256', kid: mainKey.kid }, JSON.stringify('hello')),
      'token_malformed',
    ],
    ['an empty payload object', () => sign({}), 'token_wrong_issuer'],
    [
      'standard base64 characters (+ / =)',
      () => `${sign(accessClaims()).slice(0, -4)}+/==`,
      'token_malformed',
    ],
    ['two segments only', () => sign(accessClaims()).split('.').slice(0, 2).join('.'), 'token_malformed'],
    ['four segments', () => `${sign(accessClaims())}.extra`, 'token_malformed'],
    ['random garbage segments', () => 'abc.def.ghi', 'token_malformed'],
    ['a token over 8 KiB', () => sign(accessClaims({ padding: 'x'.repeat(9000) })), 'token_too_long'],
  ];

  it('has at least 28 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(28);
  });

  it.each(cases)('refuses %s', async (_name, token, code) => {
    const before = handlerRuns;
    const response = await get(bearer(token()));
    expectProblem(response, 401, code);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(handlerRuns).toBe(before);
  });
});

describe('Authorization header catalogue', () => {
  const token = () => sign(accessClaims());
  const cases: Array<[string, () => Record<string, string>, number, string]> = [
    ['no Authorization header', () => ({}), 401, 'credentials_missing'],
    ['an empty header', () => ({ authorization: '' }), 401, 'credentials_missing'],
    [
      'Basic credentials',
      () => ({ authorization: `Basic ${Buffer.from('ada:secret').toString('base64')}` }),
      401,
      'credentials_missing',
    ],
    [
      'another scheme carrying the JWT',
      () => ({ authorization: `Token ${token()}` }),
      401,
      'credentials_missing',
    ],
    ['"Bearer" alone', () => ({ authorization: 'Bearer' }), 401, 'credentials_missing'],
    ['"Bearer " with no token', () => ({ authorization: 'Bearer ' }), 401, 'credentials_missing'],
    [
      'no space after Bearer',
      () => ({ authorization: `Bearer${token()}` }),
      400,
      'authorization_header_malformed',
    ],
    [
      'two spaces after Bearer',
      () => ({ authorization: `Bearer  ${token()}` }),
      400,
      'authorization_header_malformed',
    ],
    [
      'a tab after Bearer',
      () => ({ authorization: `Bearer\t${token()}` }),
      400,
      'authorization_header_malformed',
    ],
    [
      'trailing text after the token',
      () => ({ authorization: `Bearer ${token()} extra` }),
      400,
      'authorization_header_malformed',
    ],
    [
      'a trailing space',
      () => ({ authorization: `Bearer ${token()} ` }),
      400,
      'authorization_header_malformed',
    ],
    [
      'two comma-joined tokens',
      () => ({ authorization: `Bearer ${token()},Bearer ${token()}` }),
      400,
      'authorization_header_malformed',
    ],
    [
      'two tokens glued with a comma',
      () => ({ authorization: `Bearer ${token()},${token()}` }),
      401,
      'token_malformed',
    ],
    ['a quoted token', () => ({ authorization: `Bearer "${token()}"` }), 401, 'token_malformed'],
    [
      'a token that is not a JWT',
      () => ({ authorization: 'Bearer opaque-session-id' }),
      401,
      'token_malformed',
    ],
  ];

  it('has at least 10 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });

  it.each(cases)('refuses %s', async (_name, headers, status, code) => {
    const before = handlerRuns;
    const response = await get(headers());
    expectProblem(response, status, code);
    if (code === 'credentials_missing')
      expect(response.headers['www-authenticate']).toBe('Bearer realm="prospectflow"');
    if (status === 400) expect(response.headers['www-authenticate']).toContain('error="invalid_request"');
    expect(handlerRuns).toBe(before);
  });

  it.each(['bearer', 'BEARER', 'Bearer', 'bEaReR'])('accepts the scheme spelled %s', async (scheme) => {
    const response = await get({ authorization: `${scheme} ${token()}` });
    expect(response.statusCode).toBe(200);
  });

  it('ignores a token in the query string', async () => {
    const response = await app.inject({ method: 'GET', url: `/me?access_token=${token()}` });
    expectProblem(response, 401, 'credentials_missing');
  });

  it('refuses an unauthenticated 10 MB POST without parsing its body', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/me',
      headers: { 'content-type': 'application/json' },
      payload: `{"data":"${'x'.repeat(10 * 1024 * 1024)}"}`,
    });
    // Parsing would have answered 413 (body limit 1 MiB); onRequest answers first.
    expectProblem(response, 401, 'credentials_missing');
  });

  it('lets public routes and CORS preflights through without a token', async () => {
    expect((await app.inject({ method: 'GET', url: '/public' })).statusCode).toBe(200);
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/me',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.statusCode).not.toBe(401);
  });

  it('keeps an OPTIONS handler the app declared behind authentication, preflight header or not', async () => {
    const before = handlerRuns;
    const response = await app.inject({
      method: 'OPTIONS',
      url: '/any-method',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'DELETE' },
    });
    expectProblem(response, 401, 'credentials_missing');
    expect(handlerRuns).toBe(before);
    const authenticated = await app.inject({
      method: 'OPTIONS',
      url: '/any-method',
      headers: { ...bearer(sign(accessClaims())), 'access-control-request-method': 'DELETE' },
    });
    expect(authenticated.statusCode).toBe(200);
  });
});

describe('over real HTTP', () => {
  let port = 0;
  beforeAll(async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });

  /** Writes the request bytes ourselves, so repeated headers reach the server exactly as sent. */
  function rawRequest(headerLines: string[]): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.end(
          ['GET /me HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close', ...headerLines, '', ''].join('\r\n'),
        );
      });
      let raw = '';
      socket.on('data', (chunk) => (raw += chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
        const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
        resolve({ status, body });
      });
    });
  }

  it('refuses two Authorization headers (Node would silently keep the first)', async () => {
    const token = sign(accessClaims());
    const response = await rawRequest([`Authorization: Bearer ${token}`, `authorization: Bearer ${token}`]);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).code).toBe('authorization_header_repeated');
  });

  it('answers 431 for headers over the 16 KiB limit, before our code runs', async () => {
    const response = await rawRequest([`Authorization: Bearer ${'a'.repeat(20_000)}.b.c`]);
    expect(response.status).toBe(431);
  });

  it('accepts one valid header', async () => {
    const response = await rawRequest([`Authorization: Bearer ${sign(accessClaims())}`]);
    expect(response.status).toBe(200);
  });
});

describe('signing keys', () => {
  const singlePool = () =>
    testConfig({ userPoolIds: ['eu-west-1_TestPool1'], jwksPenaltySeconds: 60, jwksTimeoutMs: 500 });

  it('refetches once for an unknown kid, then waits out the penalty box', async () => {
    const fetcher = new StaticJwksFetcher(() => jwksFor(mainKey));
    const verifier = createTokenVerifier(singlePool(), { fetcher });
    const local = await buildTestApp({ verifier });
    try {
      expect(await verifier.hydrate()).toBe(true);
      const afterHydrate = fetcher.fetchCount;
      const unknown = sign(accessClaims(), { key: otherKey });
      expectProblem(await local.inject({ url: '/me', headers: bearer(unknown) }), 401, 'token_unknown_key');
      expect(fetcher.fetchCount).toBe(afterHydrate + 1);
      expectProblem(await local.inject({ url: '/me', headers: bearer(unknown) }), 401, 'token_unknown_key');
      expect(fetcher.fetchCount).toBe(afterHydrate + 1);
      expect((await local.inject({ url: '/me', headers: bearer(sign(accessClaims())) })).statusCode).toBe(
        200,
      );
      expect(fetcher.fetchCount).toBe(afterHydrate + 1);
    } finally {
      await local.close();
    }
  });

  it('picks up a rotated key with one refetch', async () => {
    let keys = jwksFor(mainKey);
    const fetcher = new StaticJwksFetcher(() => keys);
    const verifier = createTokenVerifier(singlePool(), { fetcher });
    const local = await buildTestApp({ verifier });
    try {
      await verifier.hydrate();
      keys = jwksFor(mainKey, otherKey);
      const rotated = sign(accessClaims(), { key: otherKey });
      expect((await local.inject({ url: '/me', headers: bearer(rotated) })).statusCode).toBe(200);
    } finally {
      await local.close();
    }
  });

  it('answers 503 with Retry-After while keys cannot be fetched, never 200, and keeps cached keys working', async () => {
    let reachable = false;
    const fetcher = new StaticJwksFetcher(() => {
      if (!reachable) throw new Error('connect ECONNREFUSED');
      return jwksFor(mainKey);
    });
    const verifier = createTokenVerifier(singlePool(), { fetcher });
    const local = await buildTestApp({ verifier });
    try {
      expect(await verifier.hydrate()).toBe(false);
      expectProblem(
        await local.inject({ url: '/me', headers: bearer(sign(accessClaims())) }),
        503,
        'jwks_unavailable',
      );
      // Even a forged token gets 503, not 200, while keys are unknown.
      expectProblem(
        await local.inject({
          url: '/me',
          headers: bearer(rawToken({ alg: 'none', kid: mainKey.kid }, accessClaims())),
        }),
        503,
        'jwks_unavailable',
      );
      reachable = true;
      expect((await local.inject({ url: '/me', headers: bearer(sign(accessClaims())) })).statusCode).toBe(
        200,
      );
      reachable = false;
      expect((await local.inject({ url: '/me', headers: bearer(sign(accessClaims())) })).statusCode).toBe(
        200,
      );
      expectProblem(
        await local.inject({ url: '/me', headers: bearer(sign(accessClaims(), { key: otherKey })) }),
        503,
        'jwks_unavailable',
      );
    } finally {
      await local.close();
    }
  });

  it('gives up hydration after the configured timeout', async () => {
    const fetcher = new StaticJwksFetcher(() => new Promise(() => {}));
    const verifier = createTokenVerifier(testConfig({ jwksTimeoutMs: 100 }), { fetcher });
    expect(await verifier.hydrate()).toBe(false);
  });
});
