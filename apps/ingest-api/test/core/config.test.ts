import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('config', () => {
  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        NODE_ENV: 'production',
        PORT: 'eighty',
        REDIS_URL: 'http://x',
        LOG_LEVEL: 'loud',
        AUTH_MODE: 'dev',
        INBOUND_WEBHOOK_SECRET: 'change-me-inbound-secret',
        IMPORT_MAX_BYTES: '10MB',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('DATABASE_URL is required');
    expect(problems).toContain('REDIS_URL must be a URL using redis: or rediss:');
    expect(problems).toContain('PORT must be an integer');
    expect(problems).toContain('LOG_LEVEL must be one of');
    expect(problems).toContain('IMPORT_MAX_BYTES must be an integer');
    expect(problems).toContain('INBOUND_WEBHOOK_SECRET is a published example value');
    // auth-core's settings are checked in the same pass.
    expect(problems).toContain('AUTH_MODE=dev is refused when NODE_ENV=production');
    expect(problems).not.toContain('change-me-inbound-secret');
  });

  it('production refuses short and published secrets everywhere: database URL, storage key, OAuth clients, webhook', () => {
    // Formats third parties issue are long enough: an AWS secret access key (40), a Google OAuth
    // client secret (35), a Microsoft one (40).
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://prospectflow_app:Xq7vN2pLk9RfT4wZ8mYc3HbJ@pgbouncer:6432/prospectflow',
      REDIS_URL: 'redis://redis:6379',
      COGNITO_USER_POOL_ID: 'eu-west-3_AbCdEf123',
      COGNITO_CLIENT_ID: '1example23456789',
      COGNITO_REGION: 'eu-west-3',
      COGNITO_USERINFO_URL: 'https://auth.prospectflow.dev/oauth2/userInfo',
      PUBLIC_BASE_URL: 'https://api.prospectflow.dev',
      INBOUND_WEBHOOK_SECRET: 'a-real-long-inbound-secret-value-xyz',
      PRIVACY_HMAC_KEYS: `1:${Buffer.alloc(32, 7).toString('base64')}`,
      STORAGE_DRIVER: 's3',
      STORAGE_S3_BUCKET: 'b',
      STORAGE_S3_REGION: 'eu-west-3',
      AWS_SECRET_ACCESS_KEY: 'u3Pq8ZlW0bXk2Nf9RtYc7Hs1Vd4Jm6Ge5Ao+Li/Q',
      SECRETS_LOCAL_KEYS: `k:${Buffer.alloc(32, 1).toString('base64')}`,
      OAUTH_GOOGLE_CLIENT_ID: '123-abc.apps.googleusercontent.com',
      OAUTH_GOOGLE_CLIENT_SECRET: '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',
      OAUTH_MICROSOFT_CLIENT_ID: '00000000-0000-0000-0000-000000000000',
      OAUTH_MICROSOFT_CLIENT_SECRET: 'Zx98Q~abcDEFghiJKLmnoPQRstuVWXyz0123456789',
    };
    expect(loadConfig(production).databaseUrl).toBe(production.DATABASE_URL);
    const refused = {
      DATABASE_URL: 'postgres://prospectflow_app:change-me-app@pgbouncer:6432/prospectflow',
      AWS_SECRET_ACCESS_KEY: 'change-me-uploads-secret-key',
      OAUTH_GOOGLE_CLIENT_SECRET: 'short',
      OAUTH_MICROSOFT_CLIENT_SECRET: 'too-short-to-be-issued',
      INBOUND_WEBHOOK_SECRET: 'short-inbound',
    };
    let error: unknown;
    try {
      loadConfig({ ...production, ...refused });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(
      expect.arrayContaining([
        'DATABASE_URL (its password) is a published example value: set a secret of your own',
        'AWS_SECRET_ACCESS_KEY is a published example value: set a secret of your own',
        'OAUTH_GOOGLE_CLIENT_SECRET is too short for production (24 characters at least)',
        'OAUTH_MICROSOFT_CLIENT_SECRET is too short for production (24 characters at least)',
        'INBOUND_WEBHOOK_SECRET is too short for production (24 characters at least)',
      ]),
    );
    expect((error as ConfigError).problems).toHaveLength(5);
    for (const value of [
      'change-me-app',
      'change-me-uploads-secret-key',
      'too-short-to-be-issued',
      'short-inbound',
    ])
      expect((error as Error).message).not.toContain(value);
    // Outside production the dev values stay accepted.
    expect(() => loadConfig({ ...production, ...refused, NODE_ENV: 'development' })).not.toThrow();
  });

  it('TRUST_PROXY is a hop count or CIDRs, never "trust all"', () => {
    const base = { DATABASE_URL: 'postgres://prospectflow_app:x@db/prospectflow', AUTH_MODE: 'dev' };
    expect(loadConfig(base).trustProxy).toBe(false);
    expect(loadConfig({ ...base, TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,::1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '192.168.1.7',
      '::1',
    ]);
    expect(() => loadConfig({ ...base, TRUST_PROXY: 'true' })).toThrow(/would trust every hop/);
    expect(() => loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/33' })).toThrow(/addresses\/CIDRs/);
    expect(() => loadConfig({ ...base, TRUST_PROXY: 'proxy.local' })).toThrow(/addresses\/CIDRs/);
  });

  it('TRUST_PROXY refuses ranges that trust every client (0.0.0.0/0, ::/0, the IPv4-mapped block)', () => {
    const base = { DATABASE_URL: 'postgres://prospectflow_app:x@db/prospectflow', AUTH_MODE: 'dev' };
    // Fastify (proxy-addr) matches an IPv4 client against an IPv6 range as ::ffff:a.b.c.d, so an
    // IPv6 range holding the mapped block trusts every IPv4 client too.
    const everyone = [
      '0.0.0.0/0',
      '10.0.0.0/8,0.0.0.0/0',
      '0.0.0.0/1,128.0.0.0/1',
      '::/0',
      '::/16',
      '::ffff:0:0/96',
      '0:0:0:0:0:FFFF:0.0.0.0/100',
      '2000::/3',
    ];
    for (const value of everyone) {
      expect(() => loadConfig({ ...base, TRUST_PROXY: value }), value).toThrow(
        /trust (nearly )?every client/,
      );
    }
    // Real proxy ranges stay accepted.
    for (const value of [
      '10.0.0.0/8',
      '172.16.0.0/12',
      'fc00::/7',
      '2001:db8::/32',
      '::ffff:10.0.0.0/104',
      '::1',
    ]) {
      expect(loadConfig({ ...base, TRUST_PROXY: value }).trustProxy, value).toEqual([value]);
    }
  });

  it('applies defaults and parses values', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://prospectflow_app:x@db/prospectflow',
      AUTH_MODE: 'dev',
      TRUST_PROXY: '1',
      BODY_LIMIT_BYTES: '2048',
    });
    expect(config).toMatchObject({
      nodeEnv: 'development',
      host: '0.0.0.0',
      port: 3000,
      trustProxy: 1,
      bodyLimitBytes: 2048,
      redisUrl: undefined,
      rateLimitMax: 600,
    });
    expect(config.imports).toMatchObject({ maxBytes: 100 * 1024 * 1024, maxAttempts: 3 });
    // The old name is read while the new one is unset.
    expect(loadConfig({ ...config.env, IMPORT_MAX_FILE_BYTES: '4096' }).imports.maxBytes).toBe(4096);
  });

  it('requires REDIS_URL in production', () => {
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://a@b/c',
        COGNITO_USER_POOL_ID: 'eu-west-1_A1',
        COGNITO_CLIENT_ID: 'c',
      }),
    ).toThrow(/REDIS_URL is required/);
  });
});

describe('node dist/server.js --help', () => {
  it("lists this app's and auth-core's variables and exits 0 without listening", () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts', '--help'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', PORT: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: node dist\/server\.js/);
    expect(run.stdout).toMatch(/DATABASE_URL\s+runtime URL, role prospectflow_app \(required\)/);
    expect(run.stdout).toMatch(/COGNITO_USER_POOL_ID/);
  });
});
