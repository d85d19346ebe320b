import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Jwks } from 'aws-jwt-verify/jwk';
import { type AuthConfig, loadAuthConfig } from '../../src/config.js';
import { base64url, jwkThumbprint, publicJwk, signRs256 } from '../../src/dev/jws.js';

export const POOL_ID = 'eu-west-1_TestPool1';
export const OTHER_POOL_ID = 'eu-west-1_OtherPool2';
export const CLIENT_ID = 'testclient1';
export const ISSUER = `https://cognito-idp.eu-west-1.amazonaws.com/${POOL_ID}`;

export interface TestKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  kid: string;
}

export function makeKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, kid: jwkThumbprint(publicKey) };
}

export const mainKey = makeKey();
export const otherKey = makeKey();

export function jwksFor(...keys: TestKey[]): Jwks {
  return { keys: keys.map((key) => publicJwk(key.publicKey, key.kid)) };
}

export function testConfig(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return loadAuthConfig(
    {
      COGNITO_USER_POOL_ID: `${POOL_ID},${OTHER_POOL_ID}`,
      COGNITO_CLIENT_ID: `${CLIENT_ID},secondclient`,
      AUTH_JWKS_PENALTY_SECONDS: '60',
    },
    { devKeyDir: '/nonexistent', ...overrides },
  );
}

const now = () => Math.floor(Date.now() / 1000);

export function accessClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: '11111111-2222-4333-8444-555555555555',
    iss: ISSUER,
    client_id: CLIENT_ID,
    origin_jti: 'origin',
    event_id: 'event',
    token_use: 'access',
    scope: 'aws.cognito.signin.user.admin',
    auth_time: now(),
    iat: now(),
    exp: now() + 3600,
    jti: 'jti',
    username: 'ada',
    ...overrides,
  };
}

export function idClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { client_id: _c, scope: _s, username: _u, ...rest } = accessClaims();
  return {
    ...rest,
    aud: CLIENT_ID,
    token_use: 'id',
    'cognito:username': 'ada',
    email: 'ada@example.com',
    email_verified: true,
    given_name: 'Ada',
    family_name: 'Lovelace',
    ...overrides,
  };
}

export function sign(
  payload: Record<string, unknown>,
  options: { key?: TestKey; header?: Record<string, unknown> } = {},
): string {
  const key = options.key ?? mainKey;
  return signRs256({ alg: 'RS256', kid: key.kid, ...options.header }, payload, key.privateKey);
}

/** A token assembled from raw parts (no signing), for malformed-structure cases. */
export function rawToken(header: unknown, payload: unknown, signature = 'c2ln'): string {
  const encode = (part: unknown) =>
    typeof part === 'string' ? base64url(part) : base64url(JSON.stringify(part));
  return `${encode(header)}.${encode(payload)}.${signature}`;
}
