import { IMPORT_TASK_TYPE } from '@prospectflow/import-engine';
import {
  bumpDailyStat,
  DEFAULT_MAX_ATTEMPTS,
  ENQUEUE_ON_CONFLICT,
  STAT_COLUMNS,
  TASK_KINDS,
  TASKS,
} from '@prospectflow/outreach-core';
import { withTenant } from '@prospectflow/tenant-context';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { enqueueDomainChecks, enqueueRetentionTasks } from '../src/schedules.js';
import {
  createCampaign,
  createMailbox,
  createOrg,
  createPositions,
  enroll,
  openTestDb,
  type TestDb,
} from './support/db.js';
import { proveSendingDomain } from './support/mailboxes.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';
import { type TestWorker, testWorker } from './support/worker.js';

// Wednesday 4 March 2026, 12:30 in Auckland (UTC+13) is still Tuesday 3 March in UTC: the daily
// counters are kept per UTC day, whoever bumps them.
const AUCKLAND_NOON = '2026-03-03T23:30:00Z';
const squash = (sql: string) => sql.replace(/\s+/g, ' ');

describe('outreach domain: one definition of tasks, stops and counters', { timeout: 60_000 }, () => {
  let t: TestDb;
  let smtp: SmtpSink;
  let w: TestWorker;
  const clock = new ManualClock(AUCKLAND_NOON);
  let n = 0;

  async function scenario(email: string, steps = 2) {
    n += 1;
    const org = await createOrg(t.admin, `domain-${n}`);
    const mailboxId = await createMailbox(t.admin, org, {
      address: `sales@domain${n}.test`,
      timeZone: 'Pacific/Auckland',
    });
    const campaign = await createCampaign(
      t.admin,
      org,
      mailboxId,
      Array.from({ length: steps }, (_, i) => ({ delayDays: 2, subject: `Step ${i + 1}`, body: 'Hello' })),
      { name: `c${n}` },
    );
    const [position] = await createPositions(t.admin, org, [{ email }]);
    const [enrollment] = await enroll(t.admin, org, campaign.id, [position!], clock.now());
    return { org, mailboxId, campaign, enrollment: enrollment! };
  }

  beforeAll(async () => {
    t = await openTestDb('domain');
    smtp = await startSmtpSink();
    smtp.setRcpt((address) =>
      address.startsWith('gone') ? { code: 550, message: '5.1.1 No such user' } : undefined,
    );
    w = testWorker(t.workerUrl, smtp.url, clock);
  });
  afterAll(async () => {
    await w?.close();
    await smtp?.close();
    await t?.close();
  });

  it('record_sent enqueues the next step exactly as TASKS.sendStep defines it, with the one dedupe rule', async () => {
    const s = await scenario('follow@x.test');
    await w.worker.drain();
    const { rows } = await t.admin.query(
      `SELECT type, step_id, priority, dedupe_key, max_attempts, run_at FROM outreach.tasks
       WHERE enrollment_id = $1 AND status = 'pending'`,
      [s.enrollment],
    );
    expect(rows).toHaveLength(1);
    const expected = TASKS.sendStep(
      s.enrollment,
      { id: s.campaign.steps[1]!.id, step_order: 2 },
      rows[0].run_at,
    );
    expect(rows[0]).toEqual({
      type: expected.type,
      step_id: expected.stepId,
      priority: expected.priority,
      dedupe_key: expected.dedupeKey,
      max_attempts: DEFAULT_MAX_ATTEMPTS,
      run_at: rows[0].run_at,
    });
    const body = await t.admin.query(`SELECT pg_get_functiondef('app.record_sent'::regproc) AS def`);
    expect(squash(body.rows[0].def)).toContain(squash(ENQUEUE_ON_CONFLICT));
  });

  // The SQL timers' enqueues, each with what it needs to find an organisation due.
  const sqlEnqueues = [
    {
      fn: 'app.enqueue_retention_tasks',
      expected: TASKS.applyRetention(),
      enqueue: async (_org: string) => {
        await enqueueRetentionTasks(w.pool, clock.now());
      },
    },
    {
      fn: 'app.enqueue_domain_checks',
      expected: TASKS.checkSendingDomains(),
      enqueue: async (org: string) => {
        await proveSendingDomain(t.admin, org, 'checked.test');
        // Due: its proof (checked at the database's now) is older than "a second from now".
        await enqueueDomainChecks(w.pool, new Date(Date.now() + 1000), 0);
      },
    },
  ];
  it.each(sqlEnqueues)(
    '$fn enqueues what TASKS defines for $expected.type',
    async ({ fn, expected, enqueue }) => {
      const org = await createOrg(t.admin, `domain-${expected.type.replaceAll('_', '-')}`);
      await enqueue(org);
      const { rows } = await t.admin.query(
        `SELECT type, priority, dedupe_key, max_attempts FROM outreach.tasks WHERE organisation_id = $1`,
        [org],
      );
      expect(rows).toEqual([
        {
          type: expected.type,
          priority: expected.priority,
          dedupe_key: expected.dedupeKey,
          max_attempts: expected.maxAttempts,
        },
      ]);
      const body = await t.admin.query(`SELECT pg_get_functiondef($1::regproc) AS def`, [fn]);
      expect(squash(body.rows[0].def)).toContain(squash(ENQUEUE_ON_CONFLICT));
    },
  );

  it('the task kinds are the CHECK of outreach.tasks.type, import runs included', async () => {
    const { rows } = await t.admin.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'tasks_type_check'
         AND conrelid = 'outreach.tasks'::regclass`,
    );
    const inDatabase = [...rows[0]!.def.matchAll(/'([^']+)'::text/g)].map((m) => m[1]);
    expect(new Set(inDatabase)).toEqual(new Set(TASK_KINDS));
    expect(TASK_KINDS).toContain(IMPORT_TASK_TYPE);
  });

  it('the counters are the table columns, and SQL and bumpDailyStat count into the same UTC-day row', async () => {
    const columns = await t.admin.query(
      `SELECT column_name FROM information_schema.columns
       WHERE table_schema = 'tracking' AND table_name = 'campaign_daily_stats' AND data_type = 'integer'
       ORDER BY ordinal_position`,
    );
    expect(columns.rows.map((r) => r.column_name).sort()).toEqual([...STAT_COLUMNS].sort());

    const s = await scenario('counted@x.test', 1);
    await w.worker.drain(); // app.record_sent bumps `sent` in SQL
    await withTenant(w.pool, { organisationId: s.org }, (c) =>
      bumpDailyStat(c, s.campaign.id, null, 'opened', clock.now()),
    );
    const { rows } = await t.admin.query(
      `SELECT day::text, sent, opened FROM tracking.campaign_daily_stats WHERE campaign_id = $1`,
      [s.campaign.id],
    );
    expect(rows).toEqual([{ day: '2026-03-03', sent: 1, opened: 1 }]);
  });

  it('a hard bounce at SMTP stops the enrollment like every other stop: suppressed, bounced, pending tasks cancelled, counted', async () => {
    const s = await scenario('gone@x.test');
    // Work of the enrollment queued elsewhere (e.g. a re-activation) must not outlive the bounce.
    await t.admin.query(
      `INSERT INTO outreach.tasks (organisation_id, type, run_at, enrollment_id, priority, dedupe_key)
       VALUES ($1, 'schedule_enrollment', now() + interval '1 day', $2, 10, $3)`,
      [s.org, s.enrollment, `later:${s.enrollment}`],
    );
    await w.worker.drain();
    const enrollment = await t.admin.query('SELECT status FROM outreach.campaign_enrollments WHERE id = $1', [
      s.enrollment,
    ]);
    expect(enrollment.rows[0].status).toBe('bounced');
    const sup = await t.admin.query(
      'SELECT reason FROM outreach.suppressions WHERE organisation_id = $1 AND email = $2',
      [s.org, 'gone@x.test'],
    );
    expect(sup.rows).toEqual([{ reason: 'hard_bounce' }]);
    const later = await t.admin.query(
      `SELECT status FROM outreach.tasks WHERE enrollment_id = $1 AND dedupe_key LIKE 'later:%'`,
      [s.enrollment],
    );
    expect(later.rows).toEqual([{ status: 'cancelled' }]);
    const stats = await t.admin.query(
      'SELECT sum(bounced)::int AS bounced FROM tracking.campaign_daily_stats WHERE campaign_id = $1',
      [s.campaign.id],
    );
    expect(stats.rows[0].bounced).toBe(1);
  });

  it('exit on reply found at send time stops through stopEnrollment: replied, counted, pending work cancelled', async () => {
    const s = await scenario('answered@x.test');
    clock.set('2026-03-03T12:00:00Z'); // 01:00 in Auckland: step 1 waits for the window
    await w.worker.drain();
    await t.admin.query(
      `INSERT INTO outreach.messages (organisation_id, enrollment_id, direction, status, inbound_kind, message_id_header, from_address, subject)
       VALUES ($1, $2, 'inbound', 'received', 'reply', '<reply-dom@x.test>', 'answered@x.test', 'Re: hi')`,
      [s.org, s.enrollment],
    );
    await t.admin.query(
      `INSERT INTO outreach.tasks (organisation_id, type, run_at, enrollment_id, priority, dedupe_key)
       VALUES ($1, 'noop', now() + interval '1 day', $2, 10, $3)`,
      [s.org, s.enrollment, `later:${s.enrollment}`],
    );
    clock.set(AUCKLAND_NOON);
    await w.worker.drain();
    expect(smtp.mails.some((m) => m.envelopeTo.includes('answered@x.test'))).toBe(false);
    const e = await t.admin.query('SELECT status FROM outreach.campaign_enrollments WHERE id = $1', [
      s.enrollment,
    ]);
    expect(e.rows[0].status).toBe('replied');
    const later = await t.admin.query(
      `SELECT status FROM outreach.tasks WHERE enrollment_id = $1 AND dedupe_key LIKE 'later:%'`,
      [s.enrollment],
    );
    expect(later.rows).toEqual([{ status: 'cancelled' }]);
    const stats = await t.admin.query(
      'SELECT sum(replied)::int AS replied FROM tracking.campaign_daily_stats WHERE campaign_id = $1',
      [s.campaign.id],
    );
    expect(stats.rows[0].replied).toBe(1);
  });
});
