import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, roleUrl } from '../src/roles.js';

/** Migrations 0880 and 1006: the worker role keeps only what the worker uses (issue 14.5). */
let database: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase('worker_privileges');
  client = new pg.Client({ connectionString: database.adminUrl });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await database?.drop();
});

async function can(role: string, table: string, privilege: string): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>('SELECT has_table_privilege($1, $2, $3) AS ok', [
    role,
    table,
    privilege,
  ]);
  return rows[0]!.ok;
}

/**
 * Calls a narrow purge function as the worker in `org`'s context, with a cutoff a day ahead (as a
 * compromised worker would): how many rows it deleted.
 */
async function purgeAsWorker(
  fn: 'purge_closed_invitations' | 'purge_audit_log',
  org: string,
): Promise<number> {
  const worker = new pg.Client({ connectionString: roleUrl(database.adminUrl, ROLES.worker) });
  await worker.connect();
  try {
    await worker.query('BEGIN');
    await worker.query(`SELECT set_config('app.organisation_id', $1, true)`, [org]);
    const { rows } = await worker.query<{ n: number }>(
      `SELECT app.${fn}(now() + interval '1 day', 10000) AS n`,
    );
    await worker.query('COMMIT');
    return rows[0]!.n;
  } finally {
    await worker.end();
  }
}

describe('prospectflow_worker privileges', () => {
  it('reads but never writes memberships; the API keeps its membership writes', async () => {
    const table = 'iam.organisation_users';
    expect(await can('prospectflow_worker', table, 'SELECT')).toBe(true);
    for (const privilege of ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'])
      expect(await can('prospectflow_worker', table, privilege), privilege).toBe(false);
    expect(await can('prospectflow_app', table, 'INSERT')).toBe(true);
  });

  it('has nothing on invitations; the API may create, read and update (revoke, accept) but never delete them', async () => {
    const table = 'iam.organisation_invitations';
    for (const privilege of ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'])
      expect(await can('prospectflow_worker', table, privilege), `worker ${privilege}`).toBe(false);
    for (const privilege of ['SELECT', 'INSERT', 'UPDATE'])
      expect(await can('prospectflow_app', table, privilege), `app ${privilege}`).toBe(true);
    for (const privilege of ['DELETE', 'TRUNCATE'])
      expect(await can('prospectflow_app', table, privilege), `app ${privilege}`).toBe(false);
  });

  it('keeps what the worker uses (retention settings, audit trail, the queue)', async () => {
    expect(await can('prospectflow_worker', 'iam.privacy_settings', 'INSERT')).toBe(true);
    expect(await can('prospectflow_worker', 'iam.audit_log', 'INSERT')).toBe(true);
    expect(await can('prospectflow_worker', 'outreach.tasks', 'UPDATE')).toBe(true);
  });

  it('cannot write erasure requests nor change or delete retention settings (1006)', async () => {
    for (const privilege of ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'])
      expect(await can('prospectflow_worker', 'iam.erasure_requests', privilege), privilege).toBe(false);
    for (const privilege of ['UPDATE', 'DELETE', 'TRUNCATE'])
      expect(await can('prospectflow_worker', 'iam.privacy_settings', privilege), privilege).toBe(false);
    // Retention reads both and creates an organisation's default settings row.
    expect(await can('prospectflow_worker', 'iam.erasure_requests', 'SELECT')).toBe(true);
    expect(await can('prospectflow_worker', 'iam.privacy_settings', 'SELECT')).toBe(true);
    // The API keeps what it needs.
    for (const privilege of ['INSERT', 'UPDATE', 'DELETE'])
      expect(await can('prospectflow_app', 'iam.erasure_requests', privilege), `app ${privilege}`).toBe(true);
  });

  it("cannot resolve a user's memberships, a pixel token or an unsubscribe token (the API's lookups, 1006)", async () => {
    for (const fn of [
      'app.user_memberships(uuid)',
      'app.organisation_for_pixel_token(text)',
      'app.organisation_for_unsubscribe_token(text)',
    ]) {
      const { rows } = await client.query<{ worker: boolean; app: boolean }>(
        `SELECT has_function_privilege('prospectflow_worker', $1, 'EXECUTE') AS worker,
                has_function_privilege('prospectflow_app', $1, 'EXECUTE') AS app`,
        [fn],
      );
      expect(rows[0], fn).toEqual({ worker: false, app: true });
    }
  });

  it('runs no function that writes erasure requests or retention settings with its own rights', async () => {
    // A SECURITY INVOKER function or trigger the worker reaches would need the revoked privileges.
    const { rows } = await client.query<{ fn: string }>(
      `SELECT p.oid::regprocedure::text AS fn FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT p.prosecdef
          AND p.prosrc ~* '(insert\\s+into|update|delete\\s+from)\\s+iam\\.(erasure_requests|privacy_settings)'`,
    );
    expect(rows).toEqual([]);
  });

  it('cannot purge invitations closed less than 30 days ago, whatever cutoff it passes (1009)', async () => {
    const org = (
      await client.query<{ id: string }>(
        `INSERT INTO iam.organisations (name, slug) VALUES ('Seats', 'invitation-purge') RETURNING id`,
      )
    ).rows[0]!.id;
    // Revoked a minute, 10 days and 40 days ago (30 days: CLOSED_INVITATION_RETENTION_DAYS, outreach-core).
    for (const [i, age] of ['1 minute', '10 days', '40 days'].entries())
      await client.query(
        `INSERT INTO iam.organisation_invitations (organisation_id, email, role, status, expires_at, revoked_at, created_at)
         VALUES ($1, $2, 'member', 'revoked', now() + interval '1 day', now() - $3::interval, now() - interval '60 days')`,
        [org, `seat${i}@purge.test`, age],
      );
    const purge = () => purgeAsWorker('purge_closed_invitations', org);
    // No settings row yet: no policy, nothing goes.
    expect(await purge()).toBe(0);
    await client.query(
      `INSERT INTO iam.privacy_settings (organisation_id, retention_enabled) VALUES ($1, false)`,
      [org],
    );
    expect(await purge()).toBe(0);
    await client.query(
      `UPDATE iam.privacy_settings SET retention_enabled = true WHERE organisation_id = $1`,
      [org],
    );
    // Only the one closed more than 30 days ago goes.
    expect(await purge()).toBe(1);
    const { rows } = await client.query<{ email: string }>(
      `SELECT email::text FROM iam.organisation_invitations WHERE organisation_id = $1 ORDER BY email`,
      [org],
    );
    expect(rows.map((r) => r.email)).toEqual(['seat0@purge.test', 'seat1@purge.test']);
  });

  it('cannot purge audit rows inside the retention period, whatever cutoff it passes (1007)', async () => {
    const org = (
      await client.query<{ id: string }>(
        `INSERT INTO iam.organisations (name, slug) VALUES ('Audit', 'audit-purge') RETURNING id`,
      )
    ).rows[0]!.id;
    const ages = ['1 hour', '100 days', '400 days', '500 days'];
    for (const age of ages)
      await client.query(
        `INSERT INTO iam.audit_log (organisation_id, action, table_name, row_id, created_at)
         VALUES ($1, 'update', 'crm.people', gen_random_uuid(), now() - $2::interval)`,
        [org, age],
      );
    const purge = () => purgeAsWorker('purge_audit_log', org);
    // No settings row yet: no policy, nothing goes.
    expect(await purge()).toBe(0);
    await client.query(
      `INSERT INTO iam.privacy_settings (organisation_id, audit_retention_days) VALUES ($1, 365)`,
      [org],
    );
    // Only the rows past the organisation's 365 days go.
    expect(await purge()).toBe(2);
    await client.query(
      `UPDATE iam.privacy_settings SET retention_enabled = false, audit_retention_days = 30 WHERE organisation_id = $1`,
      [org],
    );
    expect(await purge()).toBe(0);
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM iam.audit_log WHERE organisation_id = $1 AND table_name = 'crm.people'`,
      [org],
    );
    expect(rows[0]!.n).toBe(2);
  });

  it('has one claim entry point: the superseded 3-argument app.claim_tasks is gone', async () => {
    const { rows } = await client.query<{ signature: string }>(
      `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'app' AND p.proname = 'claim_tasks'`,
    );
    expect(rows.map((r) => r.signature)).toEqual([
      'app.claim_tasks(text,integer,integer,timestamp with time zone)',
    ]);
  });
});
