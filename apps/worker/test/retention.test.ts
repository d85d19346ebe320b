import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLocalStorage } from '@prospectflow/object-storage';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import type { TaskHandler } from '../src/queue/types.js';
import { Worker } from '../src/queue/worker.js';
import { applyRetention } from '../src/retention/apply-retention.js';
import { enqueueRetentionTasks } from '../src/schedules.js';
import { createOrg, openTestDb, type TestDb } from './support/db.js';
import { silent } from './support/worker.js';

let t: TestDb;
let pool: pg.Pool;
let orgA: string;
let orgB: string;
const removed: Record<string, number> = {};

/** One organisation's data at every age that matters (ages relative to the database's now()). */
async function seed(org: string): Promise<void> {
  const q = (sql: string, params: unknown[] = []) => t.admin.query(sql, [org, ...params]);
  const company = (
    await q(`INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Acme') RETURNING id`)
  ).rows[0].id;
  const person = async (label: string, collected: string, inbound: string | null) => {
    const id = (
      await q(
        `INSERT INTO crm.people (organisation_id, last_name, collected_at, last_inbound_at)
         VALUES ($1, $2, now() - $3::interval, now() - $4::interval) RETURNING id`,
        [label, collected, inbound],
      )
    ).rows[0].id;
    return (
      await q(
        `INSERT INTO crm.positions (organisation_id, person_id, company_id, email) VALUES ($1, $2, $3, $4) RETURNING id`,
        [id, company, `${label}@acme.test`],
      )
    ).rows[0].id as string;
  };
  const stale = await person('stale', '4 years', null);
  await person('replied-last-year', '4 years', '1 year');
  const recent = await person('recent', '1 year', null);
  // Opens are not a contact from the person: their clock stays at collection.
  const opened = await person('opened-only', '4 years', null);
  // What the SQLite consolidation keeps of them, without a foreign key: the source keys of their
  // positions and the legacy rows they came from. The stale person's store under its default key
  // namespace (sqlite:<name>); the opened-only one's under a --source its import recorded.
  const legacy = async (database: string, source: string, key: string, position: string, email: string) => {
    await q(
      `INSERT INTO crm.import_source_keys (organisation_id, source, source_table, source_key, target_table, target_id)
       VALUES ($1, $2, 'contacts', $3, 'crm.positions', $4)`,
      [source, key, position],
    );
    await q(
      `INSERT INTO legacy.archive_rows (organisation_id, import_id, source_database, source_table, source_key, original)
       VALUES ($1, gen_random_uuid(), $2, 'contacts', $3, $4)`,
      [database, key, { id: key, email }],
    );
  };
  await legacy('prospects.db', 'sqlite:prospects.db', 'stale@acme.test', stale, 'stale@acme.test');
  await legacy('prospects.db', 'sqlite:prospects.db', 'recent@acme.test', recent, 'recent@acme.test');
  await q(
    `INSERT INTO crm.imports (organisation_id, source_kind, status, mapping) VALUES ($1, 'sqlite', 'succeeded', $2)`,
    [{ databases: [{ name: 'lyon/crm.db', source: 'crm-lyon' }] }],
  );
  await legacy('lyon/crm.db', 'crm-lyon', '7', opened, 'opened-only@acme.test');
  // Another store's row with the same table and key is somebody else's.
  await q(
    `INSERT INTO legacy.archive_rows (organisation_id, import_id, source_database, source_table, source_key, original)
     VALUES ($1, gen_random_uuid(), 'paris/crm.db', 'contacts', '7', '{"email": "other@acme.test"}')`,
  );
  const campaign = (
    await q(`INSERT INTO outreach.campaigns (organisation_id, name) VALUES ($1, 'C') RETURNING id`)
  ).rows[0].id;
  const enrollment = (
    await q(
      `INSERT INTO outreach.campaign_enrollments (organisation_id, campaign_id, position_id) VALUES ($1, $2, $3) RETURNING id`,
      [campaign, opened],
    )
  ).rows[0].id;
  const kept = await person('kept-with-events', '1 month', null);
  const keptEnrollment = (
    await q(
      `INSERT INTO outreach.campaign_enrollments (organisation_id, campaign_id, position_id) VALUES ($1, $2, $3) RETURNING id`,
      [campaign, kept],
    )
  ).rows[0].id;
  for (const [i, e] of [enrollment, keptEnrollment].entries()) {
    const message = (
      await q(
        `INSERT INTO outreach.messages (organisation_id, enrollment_id, direction, status, message_id_header)
         VALUES ($1, $2, 'outbound', 'sent', $3) RETURNING id`,
        [e, `<m${i}.${org}@acme.test>`],
      )
    ).rows[0].id;
    for (const age of ['14 months', '1 month'])
      await q(
        `INSERT INTO tracking.open_events (organisation_id, message_id, opened_at) VALUES ($1, $2, now() - $3::interval)`,
        [message, age],
      );
  }
  for (const [status, age] of [
    ['succeeded', '31 days'],
    ['failed', '40 days'],
    ['cancelled', '31 days'],
    ['succeeded', '29 days'],
  ])
    await q(
      `INSERT INTO outreach.tasks (organisation_id, type, status, completed_at) VALUES ($1, 'noop', $2, now() - $3::interval)`,
      [status, age],
    );
  await q(
    `INSERT INTO outreach.tasks (organisation_id, type, status, run_at) VALUES ($1, 'noop', 'pending', now() + interval '1 year')`,
  );
  const imp = (
    await q(
      `INSERT INTO crm.imports (organisation_id, source_kind, status) VALUES ($1, 'csv', 'succeeded') RETURNING id`,
    )
  ).rows[0].id;
  for (const age of ['100 days', '10 days'])
    await q(
      `INSERT INTO crm.import_errors (organisation_id, import_id, row_number, code, message, raw_value, created_at)
       VALUES ($1, $2, 1, 'invalid_email', 'bad', 'someone@@x', now() - $3::interval)`,
      [imp, age],
    );
  // Invitations: [status, created, closed (accepted/revoked), expires] ages; 30 days after closing they go.
  for (const [status, created, closed, expires] of [
    ['accepted', '45 days', '31 days', '-1 day'],
    ['revoked', '50 days', '40 days', '-1 day'],
    ['pending', '45 days', null, '35 days'], // expired 35 days ago
    ['accepted', '20 days', '10 days', '-1 day'], // closed recently: kept
    ['pending', '1 day', null, '-6 days'], // still open: kept
  ] as const)
    await q(
      `INSERT INTO iam.organisation_invitations
         (organisation_id, email, role, status, created_at, expires_at, accepted_at, revoked_at)
       VALUES ($1, $2, 'member', $3, now() - $4::interval, now() - $6::interval,
               CASE WHEN $3 = 'accepted' THEN now() - $5::interval END,
               CASE WHEN $3 = 'revoked' THEN now() - $5::interval END)`,
      [`invitee-${status}-${created.replace(' ', '')}@acme.test`, status, created, closed, expires],
    );
  for (const age of ['400 days', '400 days', '400 days', '10 days'])
    await q(
      `INSERT INTO iam.audit_log (organisation_id, action, table_name, row_id, created_at) VALUES ($1, 'update', 'crm.people', gen_random_uuid(), now() - $2::interval)`,
      [age],
    );
}

async function state(org: string) {
  const one = async (sql: string) => (await t.admin.query(sql, [org])).rows[0].v;
  return {
    people: (
      await t.admin.query('SELECT last_name FROM crm.people WHERE organisation_id = $1 ORDER BY 1', [org])
    ).rows.map((r) => r.last_name),
    openEvents: await one(`SELECT count(*)::int AS v FROM tracking.open_events WHERE organisation_id = $1`),
    finishedTasks: await one(
      `SELECT count(*)::int AS v FROM outreach.tasks WHERE organisation_id = $1 AND type = 'noop' AND status <> 'pending'`,
    ),
    pendingTasks: await one(
      `SELECT count(*)::int AS v FROM outreach.tasks WHERE organisation_id = $1 AND type = 'noop' AND status = 'pending'`,
    ),
    errorValues: await one(
      `SELECT count(raw_value)::int AS v FROM crm.import_errors WHERE organisation_id = $1`,
    ),
    audit: await one(
      `SELECT count(*)::int AS v FROM iam.audit_log WHERE organisation_id = $1 AND created_at < now() - interval '300 days'`,
    ),
    legacyRows: (
      await t.admin.query(
        `SELECT source_database || ' ' || source_key AS k FROM legacy.archive_rows WHERE organisation_id = $1 ORDER BY 1`,
        [org],
      )
    ).rows.map((r) => r.k),
    sourceKeys: (
      await t.admin.query(
        'SELECT source_key FROM crm.import_source_keys WHERE organisation_id = $1 ORDER BY 1',
        [org],
      )
    ).rows.map((r) => r.source_key),
    invitations: (
      await t.admin.query(
        'SELECT status, expires_at > now() AS open FROM iam.organisation_invitations WHERE organisation_id = $1 ORDER BY created_at',
        [org],
      )
    ).rows.map((r) => `${r.status}${r.open ? '' : ' (expired)'}`),
  };
}

/** A worker that runs only apply_retention tasks, on the real clock. */
const retentionWorker = (handler: TaskHandler) =>
  new Worker({
    pool,
    clock: new ManualClock(new Date()),
    log: silent,
    slots: 2,
    leaseSeconds: 30,
    pollIntervalMs: 200,
    pollOnly: true,
    handlers: { apply_retention: handler },
  });

beforeAll(async () => {
  t = await openTestDb('retention');
  pool = new pg.Pool({ connectionString: t.workerUrl, max: 6 });
  orgA = await createOrg(t.admin, 'retention-a');
  orgB = await createOrg(t.admin, 'retention-b');
  await seed(orgA);
  await seed(orgB);
  await t.admin.query(
    `INSERT INTO iam.privacy_settings (organisation_id, retention_enabled) VALUES ($1, false)`,
    [orgB],
  );
});
afterAll(async () => {
  await pool?.end();
  await t?.close();
});

describe('retention', () => {
  it('enqueues one task per organisation, once while it waits', async () => {
    const now = new Date();
    expect(await enqueueRetentionTasks(pool, now)).toBe(2);
    expect(await enqueueRetentionTasks(pool, now)).toBe(0);
  });

  it('applies the CNIL defaults in batches: stale people, old opens, finished tasks, error values, audit rows, closed invitations', async () => {
    const before = await state(orgA);
    expect(before).toMatchObject({ openEvents: 4, finishedTasks: 4, errorValues: 2, audit: 3 });
    expect(before.invitations).toHaveLength(5);
    const worker = retentionWorker(
      applyRetention({
        batchSize: 2,
        maxBatches: 1000,
        onRemoved: (rule, n) => {
          removed[rule] = (removed[rule] ?? 0) + n;
        },
      }),
    );
    await worker.drain();
    expect(await state(orgA)).toEqual({
      people: ['kept-with-events', 'recent', 'replied-last-year'],
      openEvents: 1, // the stale person's events went with them; the kept person's 14-month open too
      finishedTasks: 1,
      pendingTasks: 1,
      errorValues: 1,
      audit: 0,
      // The stale and opened-only people's legacy rows and source keys went with them.
      legacyRows: ['paris/crm.db 7', 'prospects.db recent@acme.test'],
      sourceKeys: ['recent@acme.test'],
      invitations: ['accepted', 'pending'],
    });
    // Retention switched off: nothing moved.
    expect(await state(orgB)).toEqual(before);
    expect(removed).toEqual({
      people: 2,
      open_events: 1,
      finished_tasks: 3,
      import_error_values: 1,
      audit_log: 3,
      closed_invitations: 3,
    });
    const { rows } = await t.admin.query(
      `SELECT organisation_id, status FROM outreach.tasks WHERE type = 'apply_retention' ORDER BY organisation_id = $1`,
      [orgA],
    );
    expect(rows.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('a batch budget spent mid-run snoozes the task, which finishes on its next run', async () => {
    await t.admin.query(
      `INSERT INTO tracking.open_events (organisation_id, message_id, opened_at)
       SELECT $1, message_id, now() - interval '2 years' FROM tracking.open_events, generate_series(1, 5) WHERE organisation_id = $1`,
      [orgA],
    );
    expect(await enqueueRetentionTasks(pool, new Date())).toBe(2);
    const worker = retentionWorker(applyRetention({ batchSize: 2, maxBatches: 2 }));
    await worker.drain();
    expect((await state(orgA)).openEvents).toBe(1);
  });
});

describe('uploads a dead import worker left', () => {
  it('are removed in every organisation, retention on or off; live and finished imports keep theirs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-retention-uploads-'));
    const storage = createLocalStorage(dir);
    // orgB has retention switched off: the uploads are removed all the same (not a policy).
    const importOf = async (label: string, status: string, taskStatus: string | null) => {
      const task = taskStatus
        ? (
            await t.admin.query(
              `INSERT INTO outreach.tasks (organisation_id, type, status, attempts, max_attempts, locked_by, locked_until)
               VALUES ($1, 'run_import', $2, 3, 3, $3, $4) RETURNING id`,
              [
                orgB,
                taskStatus,
                taskStatus === 'running' ? 'w1' : null,
                taskStatus === 'running' ? new Date(Date.now() + 60_000) : null,
              ],
            )
          ).rows[0].id
        : null;
      const key = `imports/${orgB}/${label}.csv`;
      await storage.put(key, 'email\nada@lovelace.io\n');
      const id = (
        await t.admin.query(
          `INSERT INTO crm.imports (organisation_id, source_kind, status, storage_key, task_id, finished_at)
           VALUES ($1, 'csv', $2, $3, $4, CASE WHEN $2 IN ('failed', 'succeeded') THEN now() END) RETURNING id`,
          [orgB, status, key, task],
        )
      ).rows[0].id;
      return { id, key };
    };
    // The worker died on the last attempt: the task failed in SQL, the import still reads running.
    const dead = await importOf('dead', 'running', 'failed');
    const failed = await importOf('failed', 'failed', null);
    const live = await importOf('live', 'running', 'running');
    const done = await importOf('done', 'succeeded', null);
    expect(await enqueueRetentionTasks(pool, new Date())).toBeGreaterThan(0);
    const worker = retentionWorker(
      applyRetention({
        batchSize: 100,
        maxBatches: 10,
        uploads: storage,
        onRemoved: (rule, n) => {
          removed[rule] = (removed[rule] ?? 0) + n;
        },
      }),
    );
    await worker.drain();
    const exists = async (key: string) => (await storage.head(key)) !== null;
    expect([await exists(dead.key), await exists(failed.key)]).toEqual([false, false]);
    expect([await exists(live.key), await exists(done.key)]).toEqual([true, true]);
    const { rows } = await t.admin.query(
      `SELECT id, status, storage_key IS NULL AS cleared, split_part(error, ':', 1) AS code
         FROM crm.imports WHERE organisation_id = $1`,
      [orgB],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(dead.id)).toMatchObject({ status: 'failed', cleared: true, code: 'import_interrupted' });
    expect(byId.get(failed.id)).toMatchObject({ status: 'failed', cleared: true });
    expect(byId.get(live.id)).toMatchObject({ status: 'running', cleared: false });
    expect(byId.get(done.id)).toMatchObject({ status: 'succeeded', cleared: false });
    expect(removed.abandoned_uploads).toBe(2);
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
