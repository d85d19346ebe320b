import { describe, expect, it } from 'vitest';
import { AuthConfigError, DEV_CLIENT_ID, DEV_USER_POOL_ID, loadAuthConfig } from '../src/config.js';

const base = { COGNITO_USER_POOL_ID: 'eu-west-1_AbC123', COGNITO_CLIENT_ID: 'client1' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadAuthConfig(env);
  } catch (error) {
    if (error instanceof AuthConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadAuthConfig', () => {
  it('reads one pool and client with safe defaults', () => {
    expect(loadAuthConfig(base)).toMatchObject({
      mode: 'cognito',
      userPoolIds: ['eu-west-1_AbC123'],
      clientIds: ['client1'],
      tokenUse: 'access',
      jwksUrl: undefined,
      clockToleranceSeconds: 5,
      maxTokenLength: 8192,
      realm: 'prospectflow',
      redisUrl: undefined,
    });
  });

  it('reads several comma-separated pools and clients, and every tunable', () => {
    const config = loadAuthConfig({
      COGNITO_USER_POOL_ID: ' eu-west-1_AbC123 , us-east-1_Zz9 ',
      COGNITO_CLIENT_ID: 'a1,b2',
      COGNITO_TOKEN_USE: 'both',
      AUTH_JWKS_URL: 'http://127.0.0.1:3000/.well-known/jwks.json',
      AUTH_CLOCK_TOLERANCE_SECONDS: '30',
      AUTH_MAX_TOKEN_LENGTH: '4096',
      AUTH_JWKS_TIMEOUT_MS: '2000',
      AUTH_JWKS_PENALTY_SECONDS: '20',
      AUTH_SESSION_TTL_SECONDS: '300',
      AUTH_REALM: 'api',
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
    expect(config).toMatchObject({
      userPoolIds: ['eu-west-1_AbC123', 'us-east-1_Zz9'],
      clientIds: ['a1', 'b2'],
      tokenUse: 'both',
      jwksUrl: 'http://127.0.0.1:3000/.well-known/jwks.json',
      clockToleranceSeconds: 30,
      maxTokenLength: 4096,
      jwksTimeoutMs: 2000,
      jwksPenaltySeconds: 20,
      sessionTtlSeconds: 300,
      realm: 'api',
      redisUrl: 'redis://127.0.0.1:6379',
    });
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({
      COGNITO_USER_POOL_ID: 'not-a-pool',
      COGNITO_CLIENT_ID: '',
      COGNITO_TOKEN_USE: 'refresh',
      AUTH_JWKS_URL: 'ftp://example.com/jwks',
      AUTH_CLOCK_TOLERANCE_SECONDS: '-1',
      AUTH_MAX_TOKEN_LENGTH: 'big',
    });
    expect(problems.join('\n')).toMatch(/COGNITO_USER_POOL_ID: "not-a-pool"/);
    expect(problems.join('\n')).toMatch(/COGNITO_CLIENT_ID is required/);
    expect(problems.join('\n')).toMatch(/COGNITO_TOKEN_USE/);
    expect(problems.join('\n')).toMatch(/AUTH_JWKS_URL must be a URL using http: or https:/);
    expect(problems.join('\n')).toMatch(/AUTH_CLOCK_TOLERANCE_SECONDS/);
    expect(problems.join('\n')).toMatch(/AUTH_MAX_TOKEN_LENGTH/);
    expect(problems).toHaveLength(6);
  });

  it('requires a pool id outside dev mode', () => {
    expect(problemsOf({ COGNITO_CLIENT_ID: 'c' })).toEqual([
      expect.stringMatching(/COGNITO_USER_POOL_ID is required/),
    ]);
  });

  it('defaults the dev pool and client in dev mode', () => {
    expect(loadAuthConfig({ AUTH_MODE: 'dev' })).toMatchObject({
      mode: 'dev',
      userPoolIds: [DEV_USER_POOL_ID],
      clientIds: [DEV_CLIENT_ID],
    });
  });

  it('refuses dev mode, plain-http keys and the in-process cache in production', () => {
    expect(problemsOf({ AUTH_MODE: 'dev', NODE_ENV: 'production', REDIS_URL: 'redis://r' })).toEqual([
      expect.stringMatching(/AUTH_MODE=dev is refused/),
    ]);
    expect(problemsOf({ ...base, NODE_ENV: 'production', AUTH_JWKS_URL: 'http://keys/jwks.json' })).toEqual([
      expect.stringMatching(/https/),
      expect.stringMatching(/COGNITO_USERINFO_URL is required/),
      expect.stringMatching(/REDIS_URL is required/),
    ]);
  });

  it('refuses plain-http key and userInfo URLs in production however the scheme is spelled', () => {
    const production = {
      ...base,
      NODE_ENV: 'production',
      REDIS_URL: 'redis://r',
      COGNITO_TOKEN_USE: 'id',
    };
    // URL schemes are case-insensitive: HTTP://… is fetched over plain http all the same.
    for (const url of ['HTTP://keys/jwks.json', 'Http://keys/jwks.json', ' http://keys/jwks.json']) {
      expect(problemsOf({ ...production, AUTH_JWKS_URL: url }), url).toEqual([
        expect.stringMatching(/AUTH_JWKS_URL must use https/),
      ]);
      expect(
        problemsOf({ ...production, COGNITO_USERINFO_URL: url.replace('jwks.json', 'userInfo') }),
        url,
      ).toEqual([expect.stringMatching(/COGNITO_USERINFO_URL must use https/)]);
    }
    expect(problemsOf({ ...production, AUTH_JWKS_URL: 'HTTPS://keys/jwks.json' })).toEqual([]);
  });

  it('refuses an AUTH_REALM that cannot be sent quoted in WWW-Authenticate', () => {
    for (const realm of ['pf"api', 'pf\\api', 'pf\napi', 'pf\u00e9']) {
      expect(problemsOf({ ...base, AUTH_REALM: realm })).toEqual([
        expect.stringMatching(/AUTH_REALM must be/),
      ]);
    }
    expect(loadAuthConfig({ ...base, AUTH_REALM: 'ProspectFlow API' }).realm).toBe('ProspectFlow API');
  });

  it('rejects an unknown AUTH_MODE', () => {
    expect(problemsOf({ ...base, AUTH_MODE: 'none' })).toEqual([expect.stringMatching(/AUTH_MODE must be/)]);
  });
});
