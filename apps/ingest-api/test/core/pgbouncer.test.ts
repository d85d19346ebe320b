import { ROLES, rolePassword } from '@prospectflow/db-schema';
import { runWithTenant } from '@prospectflow/tenant-context';
import { type RunningPgBouncer, startPgBouncer, testEnvironment } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

/**
 * The API behind a STOCK pgBouncer (transaction mode, `ignore_startup_parameters` only
 * `extra_float_digits`, two server connections shared by everyone): tenant traffic works, stays
 * isolated, and the statement / idle-in-transaction timeouts still hold — they travel inside each
 * transaction (a plain pool.query's in its own round trip), not as startup parameters the pooler
 * would refuse or drop.
 */
// Generous enough for a busy machine: every statement of the app (sign-up…) runs under them.
const STATEMENT_TIMEOUT_MS = 1500;
const IDLE_TIMEOUT_MS = 1200; // not a whole second: SHOW would print "1s"
const timeoutEnv = {
  DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
};

let bouncer: RunningPgBouncer;
let viaBouncer: TestApp;
let direct: TestApp;

beforeAll(async () => {
  const password = rolePassword(ROLES.app);
  bouncer = await startPgBouncer({
    targetUrl: testEnvironment().adminUrl,
    poolSize: 2,
    users: [{ user: ROLES.app, password }],
  });
  viaBouncer = await buildTestApp({
    label: 'bouncer',
    env: timeoutEnv,
    databaseUrl: (database) => bouncer.url(ROLES.app, password, database.name),
  });
  direct = await buildTestApp({ label: 'bouncer_direct', env: timeoutEnv });
});
afterAll(async () => {
  await viaBouncer?.close();
  await direct?.close();
  await bouncer?.stop();
});

/** Runs `sql` in one of the app's own tenant units (the path every repository takes). */
function inUnit(
  t: TestApp,
  user: TestUser,
  fn: (query: (sql: string) => Promise<pg.QueryResult>) => Promise<unknown>,
) {
  return runWithTenant({ organisationId: user.organisationId, userId: user.userId }, () =>
    t.app.db.tenant((client) => fn((sql) => client.query(sql))),
  );
}

describe('stock pgBouncer in front of the API', () => {
  it('is really stock: a timeout sent as a startup parameter is refused', async () => {
    const client = new pg.Client({
      connectionString: viaBouncer.env.DATABASE_URL,
      statement_timeout: 1000,
    });
    await expect(client.connect()).rejects.toThrow(/unsupported startup parameter/);
    await client.end().catch(() => {});
  });

  it('serves concurrent tenant traffic, each organisation seeing only its own rows', async () => {
    const users = await Promise.all([1, 2, 3, 4].map(() => viaBouncer.signUp()));
    const rounds = 5;
    await Promise.all(
      users.flatMap((user) =>
        Array.from({ length: rounds }, async (_, i) => {
          const created = await viaBouncer.request(user, {
            method: 'POST',
            url: '/v1/companies',
            payload: { name: `${user.organisationId}:${i}` },
          });
          expect(created.statusCode, created.body).toBe(201);
          const listed = await viaBouncer.request(user, { method: 'GET', url: '/v1/companies?limit=100' });
          expect(listed.statusCode, listed.body).toBe(200);
          for (const company of listed.json().items as { name: string }[])
            expect(company.name.split(':')[0]).toBe(user.organisationId);
        }),
      ),
    );
    for (const user of users) {
      const listed = await viaBouncer.request(user, { method: 'GET', url: '/v1/companies?limit=100' });
      expect(listed.json().items).toHaveLength(rounds);
    }
  });

  for (const [name, app] of [
    ['through pgBouncer', () => viaBouncer],
    ['directly', () => direct],
  ] as const) {
    it(`cancels a statement over DATABASE_STATEMENT_TIMEOUT_MS ${name}`, async () => {
      const t = app();
      const user = await t.signUp();
      const shown = await inUnit(t, user, async (query) => (await query('SHOW statement_timeout')).rows[0]);
      expect(shown).toEqual({ statement_timeout: `${STATEMENT_TIMEOUT_MS}ms` });
      const started = Date.now();
      await expect(inUnit(t, user, (query) => query('SELECT pg_sleep(10)'))).rejects.toMatchObject({
        code: '57014',
      });
      expect(Date.now() - started).toBeLessThan(8000);
      // A statement under the limit is fine, and the limit never leaks to the session.
      await expect(inUnit(t, user, (query) => query('SELECT pg_sleep(0.05)'))).resolves.toBeDefined();
      const connection = await t.app.db.pool.connect();
      try {
        const session = await connection.query('SHOW statement_timeout');
        expect(session.rows[0].statement_timeout).not.toBe(`${STATEMENT_TIMEOUT_MS}ms`);
      } finally {
        connection.release();
      }
    });

    it(`bounds statements outside a tenant unit too (session load, plain pool queries) ${name}`, async () => {
      const t = app();
      const user = await t.signUp();
      // A plain pool.query carries the timeout in its own round trip, not in the session.
      expect((await t.app.db.pool.query('SHOW statement_timeout')).rows[0]).toEqual({
        statement_timeout: `${STATEMENT_TIMEOUT_MS}ms`,
      });
      await expect(t.app.db.pool.query('SELECT pg_sleep(10)')).rejects.toMatchObject({ code: '57014' });
      // The session load (user sync: INSERT … ON CONFLICT on iam.users) waits on a locked row: the
      // request answers 503 problem+json at about the timeout instead of hanging.
      const hold = await t.admin.connect();
      try {
        await hold.query('BEGIN');
        await hold.query('SELECT 1 FROM iam.users WHERE id = $1 FOR UPDATE', [user.userId]);
        await t.app.authServices.sessions.invalidate(user.userId);
        const started = Date.now();
        const response = await t.request(user, { method: 'GET', url: '/v1/companies' });
        const elapsed = Date.now() - started;
        expect(response.statusCode, response.body).toBe(503);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(elapsed).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 100);
        expect(elapsed).toBeLessThan(STATEMENT_TIMEOUT_MS * 4);
      } finally {
        await hold.query('ROLLBACK');
        hold.release();
      }
      // Once the lock is gone the same request is served.
      expect((await t.request(user, { method: 'GET', url: '/v1/companies' })).statusCode).toBe(200);
    });

    it(`ends a tenant transaction left idle past DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS ${name}`, async () => {
      const t = app();
      const user = await t.signUp();
      const shown = await inUnit(
        t,
        user,
        async (query) => (await query('SHOW idle_in_transaction_session_timeout')).rows[0],
      );
      expect(shown).toEqual({ idle_in_transaction_session_timeout: `${IDLE_TIMEOUT_MS}ms` });
      await expect(
        inUnit(t, user, async (query) => {
          await query('SELECT 1');
          await new Promise((resolve) => setTimeout(resolve, IDLE_TIMEOUT_MS * 3));
          return await query('SELECT 2');
        }),
      ).rejects.toThrow();
      // The app goes on working afterwards (the broken connection was discarded).
      const listed = await t.request(user, { method: 'GET', url: '/v1/companies' });
      expect(listed.statusCode).toBe(200);
    });
  }
});
