import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setMailPassword, testMail } from '@prospectflow/testing';
import { CHILD_GUARD_ARGS, watchChildStderr } from '@prospectflow/testing/setup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaign, createOrg, createPositions, enroll, openTestDb, type TestDb } from './support/db.js';
import { connectMailbox, messageIdsIn, SECRETS_ENV } from './support/mailboxes.js';
import { waitUntil } from './support/worker.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const KILLS = 20;
const PEOPLE = 120;
const SLOTS = 4;
/** slow-…: the test SMTP server answers 250 only 25 ms after filing the message (a wider window). */
const SENDER = 'slow-sales@chaos.test';

describe('chaos: SIGKILL the worker process mid-batch (sending through a connected mailbox)', () => {
  let t: TestDb;
  let enrollments: string[];
  const children: ChildProcess[] = [];

  const spawnWorker = () => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...CHILD_GUARD_ARGS, MAIN], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: {
        ...process.env,
        WORKER_DATABASE_URL: t.workerUrl,
        // The relay is not used: the campaign's mailbox sends through its own account.
        SMTP_URL: 'smtp://127.0.0.1:1',
        ...SECRETS_ENV,
        MAIL_HOST_ALLOWLIST: '127.0.0.1',
        PUBLIC_BASE_URL: 'https://pf.example.test',
        WORKER_SLOTS: String(SLOTS),
        WORKER_LEASE_SECONDS: '2',
        WORKER_POLL_INTERVAL_MS: '100',
        WORKER_METRICS_PORT: '0',
        WORKER_SHUTDOWN_GRACE_MS: '2000',
        // Only the send path is under test: no retention tasks (a killed run could end them failed).
        WORKER_RETENTION_INTERVAL_MS: '0',
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // An overlapping pg query in the worker fails this test (the guard prints it on stderr).
    watchChildStderr(child.stderr);
    children.push(child);
    return child;
  };
  const exited = (child: ChildProcess) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null)
        return resolve({ code: child.exitCode, signal: child.signalCode });
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });

  beforeAll(async () => {
    t = await openTestDb('chaos');
    const org = await createOrg(t.admin, 'chaos');
    setMailPassword(testMail(), SENDER, 'pw');
    const mailbox = await connectMailbox(t.admin, org, {
      address: SENDER,
      secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
      verified: true,
      dailyLimit: 10_000,
    });
    const campaign = await createCampaign(t.admin, org, mailbox, [
      { delayDays: 0, subject: 'Hi {{person.first_name}}', body: 'Hello {{person.first_name}}' },
    ]);
    const positions = await createPositions(
      t.admin,
      org,
      Array.from({ length: PEOPLE }, (_, i) => ({ email: `c${i}@chaos-prospects.test` })),
    );
    enrollments = await enroll(t.admin, org, campaign.id, positions, new Date(Date.now() - 1000));
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await t?.close();
  });

  it(`loses no task and sends no duplicate message across ${KILLS} SIGKILLs and a restart`, {
    timeout: 240_000,
  }, async () => {
    const sentRows = async () =>
      (await t.admin.query(`SELECT count(*)::int AS n FROM outreach.messages WHERE status = 'sent'`)).rows[0]
        .n as number;
    let killsMidBatch = 0;
    for (let i = 0; i < KILLS; i++) {
      const child = spawnWorker();
      const before = await sentRows();
      // Kill once this process has recorded something: it then has a batch in flight.
      await waitUntil(
        async () => (await sentRows()) >= before + 3 || child.exitCode !== null,
        `worker #${i} to make progress`,
        60_000,
      );
      const inFlight = (
        await t.admin.query(`SELECT count(*)::int AS n FROM outreach.tasks WHERE status = 'running'`)
      ).rows[0].n;
      if (inFlight > 0) killsMidBatch += 1;
      child.kill('SIGKILL');
      expect((await exited(child)).signal).toBe('SIGKILL');
    }
    expect(killsMidBatch).toBeGreaterThanOrEqual(KILLS / 2);
    expect(await sentRows()).toBeLessThan(PEOPLE); // work was left for the survivor

    const survivor = spawnWorker();
    await waitUntil(
      async () =>
        (await t.admin.query(`SELECT count(*)::int AS n FROM outreach.tasks WHERE status <> 'succeeded'`))
          .rows[0].n === 0 && (await sentRows()) === PEOPLE,
      'the survivor to drain the queue',
      120_000,
    );
    survivor.kill('SIGTERM');
    expect((await exited(survivor)).code).toBe(0);

    // Database: exactly one sent message per enrollment, every task succeeded, every sequence done.
    const perEnrollment = await t.admin.query(
      `SELECT e.id, count(m.id)::int AS n, min(m.status) AS status FROM outreach.campaign_enrollments e
       LEFT JOIN outreach.messages m ON m.enrollment_id = e.id AND m.direction = 'outbound' GROUP BY e.id`,
    );
    expect(perEnrollment.rows).toHaveLength(enrollments.length);
    expect(perEnrollment.rows.filter((r) => r.n !== 1 || r.status !== 'sent')).toEqual([]);
    const enrollmentStatus = await t.admin.query(`SELECT DISTINCT status FROM outreach.campaign_enrollments`);
    expect(enrollmentStatus.rows).toEqual([{ status: 'completed' }]);

    // SMTP: every stored Message-ID was accepted (the provider filed each accepted submission in
    // the mailbox's Sent folder). A kill between the server's 250 and our commit leaves a queued
    // reservation; its retry finds the Message-ID in Sent and records it instead of sending again.
    const ids = (await t.admin.query(`SELECT message_id_header FROM outreach.messages`)).rows
      .map((r) => r.message_id_header)
      .sort();
    const received = await messageIdsIn(SENDER, 'Sent');
    expect([...new Set(received)].sort()).toEqual(ids);
    const repeats = received.length - new Set(received).size;
    const caught = (
      await t.admin.query(
        `SELECT count(*)::int AS n FROM outreach.messages WHERE smtp_response LIKE 'not resent:%'`,
      )
    ).rows[0].n as number;
    console.log(
      `chaos: ${KILLS} SIGKILLs (${killsMidBatch} with tasks in flight), ${PEOPLE} messages, ${caught} resends avoided (found in Sent), ${repeats} SMTP re-deliveries under the same Message-ID (${((100 * repeats) / PEOPLE).toFixed(1)} %)`,
    );
    expect(repeats).toBe(0);
  });
});
