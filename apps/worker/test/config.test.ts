import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('worker config', () => {
  it('applies defaults, derives the listen URL and prefetch', () => {
    expect(
      loadConfig({ WORKER_DATABASE_URL: 'postgres://w@db/pf', WORKER_SLOTS: '2', WORKER_POLL_ONLY: '1' }),
    ).toMatchObject({
      databaseUrl: 'postgres://w@db/pf',
      listenUrl: 'postgres://w@db/pf',
      slots: 2,
      prefetch: 4,
      pollOnly: true,
      smtpUrl: 'smtp://127.0.0.1:1025',
      variantSeed: 'dev-variant-seed',
    });
  });

  it('reports every problem at once', () => {
    expect(
      problemsOf({
        NODE_ENV: 'production',
        WORKER_SLOTS: '0',
        WORKER_LEASE_SECONDS: 'soon',
        SMTP_URL: 'http://mail',
        WORKER_POLL_ONLY: 'perhaps',
      }),
    ).toEqual([
      'WORKER_DATABASE_URL is required (role prospectflow_worker)',
      'SMTP_URL must be a URL using smtp: or smtps: (got "http://mail")',
      'WORKER_SLOTS must be an integer between 1 and 1000 (got "0")',
      'WORKER_LEASE_SECONDS must be an integer (got "soon")',
      'WORKER_POLL_ONLY must be true or false (got "perhaps")',
      'VARIANT_SEED is required in production (HMAC key of A/B assignment)',
      // object-storage's and outreach-core's checks join the same list.
      'STORAGE_LOCAL_DIR is required in production with the local driver (a folder every API and worker shares), or set STORAGE_DRIVER=s3',
      expect.stringMatching(/^PRIVACY_HMAC_KEYS is required in production/),
    ]);
  });

  it('refuses an example or short variant seed in production', () => {
    const base = {
      NODE_ENV: 'production',
      WORKER_DATABASE_URL: 'postgres://w@db/pf',
      PRIVACY_HMAC_KEYS: `1:${Buffer.alloc(32, 7).toString('base64')}`,
      STORAGE_LOCAL_DIR: '/shared/uploads',
    };
    expect(problemsOf({ ...base, VARIANT_SEED: 'change-me-variant-seed' })).toEqual([
      'VARIANT_SEED is a published example value: set a secret of your own',
    ]);
    expect(problemsOf({ ...base, VARIANT_SEED: 'k'.repeat(32) })).toEqual([]);
  });

  it('refuses short and published secrets in production: database URLs, storage key, OAuth clients', () => {
    const base = {
      NODE_ENV: 'production',
      WORKER_DATABASE_URL: 'postgres://prospectflow_worker:Kd8sW2nQ5vB9xL3mT7yR4cF6@pgbouncer:6432/pf',
      PRIVACY_HMAC_KEYS: `1:${Buffer.alloc(32, 7).toString('base64')}`,
      VARIANT_SEED: 'k'.repeat(32),
      STORAGE_DRIVER: 's3',
      STORAGE_S3_BUCKET: 'uploads',
      AWS_SECRET_ACCESS_KEY: 'u3Pq8ZlW0bXk2Nf9RtYc7Hs1Vd4Jm6Ge5Ao+Li/Q',
      OAUTH_GOOGLE_CLIENT_ID: '123-abc.apps.googleusercontent.com',
      OAUTH_GOOGLE_CLIENT_SECRET: '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',
    };
    expect(problemsOf(base)).toEqual([]);
    const problems = problemsOf({
      ...base,
      WORKER_DATABASE_URL: 'postgres://prospectflow_worker:change-me-worker@pgbouncer:6432/pf',
      WORKER_LISTEN_DATABASE_URL: 'postgres://prospectflow_worker:prospectflow_worker@postgres:5432/pf',
      AWS_SECRET_ACCESS_KEY: 'minio-secret',
      OAUTH_GOOGLE_CLIENT_SECRET: 'short',
    });
    expect(problems).toEqual([
      'WORKER_DATABASE_URL (its password) is a published example value: set a secret of your own',
      'WORKER_LISTEN_DATABASE_URL (its password) is too short for production (24 characters at least)',
      'OAUTH_GOOGLE_CLIENT_SECRET is too short for production (24 characters at least)',
      'AWS_SECRET_ACCESS_KEY is too short for production (24 characters at least)',
    ]);
    expect(problems.join('\n')).not.toMatch(/change-me-worker|minio-secret|:short|prospectflow_worker@/);
  });
});

describe('node dist/main.js --help', () => {
  it('lists the variables and exits 0 without connecting anywhere', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '--help'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, WORKER_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: node dist\/main\.js/);
    expect(run.stdout).toMatch(/WORKER_DATABASE_URL\s+role prospectflow_worker \(required\)/);
  });
});
