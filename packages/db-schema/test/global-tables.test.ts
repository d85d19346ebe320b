import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, roleUrl } from '../src/roles.js';

/**
 * Migration 1010: the runtime roles hold DML on tenant tables only. The global iam.organisations and
 * iam.users are out of their reach, even inside a tenant unit; the API's narrow functions name the
 * unit's own organisation or one user's own row.
 */
let database: TestDatabase;
let admin: pg.Client;
let orgA: string;
let orgB: string;
let userA: string;
let userB: string;

beforeAll(async () => {
  database = await createTestDatabase('global_tables');
  admin = new pg.Client({ connectionString: database.adminUrl });
  await admin.connect();
  const orgs = await admin.query<{ id: string }>(
    `INSERT INTO iam.organisations (name, slug) VALUES ('Alpha', 'alpha'), ('Beta', 'beta') RETURNING id`,
  );
  [orgA, orgB] = orgs.rows.map((r) => r.id) as [string, string];
  const users = await admin.query<{ id: string }>(
    `INSERT INTO iam.users (cognito_sub, cognito_pool_id, email, email_verified)
     VALUES ('sub-a', 'pool', 'a@alpha.test', true), ('sub-b', 'pool', 'b@beta.test', true) RETURNING id`,
  );
  [userA, userB] = users.rows.map((r) => r.id) as [string, string];
  await admin.query(
    `INSERT INTO iam.organisation_users (organisation_id, user_id, role) VALUES ($1, $2, 'owner'), ($3, $4, 'owner')`,
    [orgA, userA, orgB, userB],
  );
});
afterAll(async () => {
  await admin?.end();
  await database?.drop();
});

/** Runs `fn` as `role` in a transaction scoped to `organisationId` (and `userId`), then rolls back or commits. */
async function asRole<T>(
  role: 'app' | 'worker',
  organisationId: string,
  fn: (client: pg.Client) => Promise<T>,
  commit = false,
): Promise<T> {
  const client = new pg.Client({ connectionString: roleUrl(database.adminUrl, ROLES[role]) });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.organisation_id', $1, true)`, [organisationId]);
    const result = await fn(client);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    return result;
  } finally {
    await client.end();
  }
}

async function sqlState(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('the global iam tables (migration 1010)', () => {
  for (const role of ['app', 'worker'] as const) {
    it(`${role}: every statement on iam.users and iam.organisations is refused, even in a tenant unit`, async () => {
      for (const statement of [
        'SELECT email FROM iam.users',
        'SELECT id FROM iam.users WHERE id = $1',
        `UPDATE iam.users SET email_verified = true WHERE id = $1`,
        `INSERT INTO iam.users (cognito_sub) VALUES ('forged')`,
        'SELECT name FROM iam.organisations',
        `UPDATE iam.organisations SET name = 'Taken' WHERE id <> $1`,
        `INSERT INTO iam.organisations (name, slug) VALUES ('Forged', 'forged')`,
      ]) {
        const params = statement.includes('$1') ? [statement.includes('users') ? userB : orgA] : [];
        const state = await sqlState(() => asRole(role, orgA, (c) => c.query(statement, params)));
        expect(state, `${role}: ${statement}`).toBe('42501');
      }
    });
  }

  it("the unit's organisation: read, renamed and locked only through the narrow functions, never another", async () => {
    const seen = await asRole(
      'app',
      orgA,
      async (c) => (await c.query('SELECT * FROM app.current_organisation()')).rows,
    );
    expect(seen).toEqual([{ id: orgA, name: 'Alpha', slug: 'alpha', status: 'active' }]);
    const renamed = await asRole(
      'app',
      orgA,
      async (c) => (await c.query(`SELECT * FROM app.update_current_organisation('Alpha 2', NULL)`)).rows,
      true,
    );
    expect(renamed).toEqual([{ id: orgA, name: 'Alpha 2', slug: 'alpha', status: 'active' }]);
    await asRole('app', orgA, (c) => c.query('SELECT app.lock_current_organisation()'));
    const names = await admin.query<{ name: string }>('SELECT name FROM iam.organisations ORDER BY slug');
    expect(names.rows.map((r) => r.name)).toEqual(['Alpha 2', 'Beta']);
    // Without an organisation in the unit, the guard refuses (PF001), as on tenant tables.
    const client = new pg.Client({ connectionString: roleUrl(database.adminUrl, ROLES.app) });
    await client.connect();
    try {
      await expect(client.query('SELECT * FROM app.current_organisation()')).rejects.toMatchObject({
        code: 'PF001',
      });
    } finally {
      await client.end();
    }
  });

  it("creates only the unit's own organisation", async () => {
    const fresh = '0b6c9d36-1c2e-4f0a-9c1e-5d2f3a4b5c6d';
    await asRole(
      'app',
      fresh,
      (c) => c.query(`SELECT app.create_current_organisation('Gamma', 'gamma')`),
      true,
    );
    const { rows } = await admin.query('SELECT name FROM iam.organisations WHERE id = $1', [fresh]);
    expect(rows).toEqual([{ name: 'Gamma' }]);
  });

  it('syncs a user from a token; the same sub from another pool gets no row', async () => {
    const sync = (pool: string, change: string) =>
      asRole(
        'app',
        orgA,
        async (c) =>
          (
            await c.query(
              `SELECT id, created FROM app.sync_user('sub-new', $1, 'new@alpha.test', true, 'Ann', NULL, $2)`,
              [pool, change],
            )
          ).rows,
        true,
      );
    const [first] = await sync('pool', 'set');
    expect(first).toMatchObject({ created: true });
    expect(await sync('pool', 'unverify')).toEqual([{ id: first!.id, created: false }]);
    expect(await sync('other-pool', 'set')).toEqual([]);
    const { rows } = await admin.query(
      `SELECT email::text, email_verified, first_name FROM iam.users WHERE cognito_sub = 'sub-new'`,
    );
    expect(rows).toEqual([{ email: 'new@alpha.test', email_verified: false, first_name: 'Ann' }]);
  });
});
