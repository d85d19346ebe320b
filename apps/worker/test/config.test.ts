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
      // outreach-core's PRIVACY_HMAC_KEYS check joins the same list.
      expect.stringMatching(/^PRIVACY_HMAC_KEYS is required in production/),
    ]);
  });

  it('refuses an example or short variant seed in production', () => {
    const base = {
      NODE_ENV: 'production',
      WORKER_DATABASE_URL: 'postgres://w@db/pf',
      PRIVACY_HMAC_KEYS: `1:${Buffer.alloc(32, 7).toString('base64')}`,
    };
    expect(problemsOf({ ...base, VARIANT_SEED: 'change-me-variant-seed' })).toEqual([
      'VARIANT_SEED is a published example value: set a secret of your own',
    ]);
    expect(problemsOf({ ...base, VARIANT_SEED: 'k'.repeat(32) })).toEqual([]);
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
