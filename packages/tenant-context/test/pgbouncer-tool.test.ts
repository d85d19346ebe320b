import { startPgBouncer, testEnvironment } from '@prospectflow/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';

const saved = process.env.PGBOUNCER_BIN;

afterEach(() => {
  if (saved === undefined) delete process.env.PGBOUNCER_BIN;
  else process.env.PGBOUNCER_BIN = saved;
});

describe('startPgBouncer (@prospectflow/testing)', () => {
  it('says how to install pgbouncer when it is missing', async () => {
    process.env.PGBOUNCER_BIN = '/nonexistent/pgbouncer';
    await expect(
      startPgBouncer({
        targetUrl: testEnvironment().adminUrl,
        poolSize: 1,
        users: [{ user: 'u', password: 'p' }],
      }),
    ).rejects.toThrow(/apt-get install -y pgbouncer/);
  });

  it('serves transaction pooling with the configured pool size and stops cleanly', async () => {
    const admin = new URL(testEnvironment().adminUrl);
    const user = decodeURIComponent(admin.username);
    const password = decodeURIComponent(admin.password) || 'unused';
    const bouncer = await startPgBouncer({
      targetUrl: admin.toString(),
      poolSize: 2,
      users: [{ user, password }],
    });
    try {
      const client = new pg.Client({ connectionString: bouncer.url(user, password) });
      await client.connect();
      expect((await client.query('SELECT $1::int AS n', [7])).rows).toEqual([{ n: 7 }]);
      await client.end();
      const console = new pg.Client({ connectionString: bouncer.adminUrl() });
      await console.connect();
      const { rows } = await console.query<{ key: string; value: string }>('SHOW CONFIG');
      await console.end();
      const config = Object.fromEntries(rows.map((r) => [r.key, r.value]));
      expect(config.pool_mode).toBe('transaction');
      expect(config.default_pool_size).toBe('2');
    } finally {
      await bouncer.stop();
    }
    const after = new pg.Client({
      connectionString: bouncer.url(user, password),
      connectionTimeoutMillis: 1000,
    });
    await expect(after.connect()).rejects.toThrow();
  });
});
