import {
  failTokenRefreshes,
  issueRefreshToken,
  revokeRefreshToken,
  type TokenRefreshFailure,
  testMail,
} from '@prospectflow/testing';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { outreachHandlers } from '../src/handlers.js';
import { loadAccount } from '../src/mailboxes/account.js';
import { smtpOptions } from '../src/mailboxes/connect.js';
import { MailboxPoller } from '../src/mailboxes/poller.js';
import type { MailServices } from '../src/mailboxes/services.js';
import { inboundSink } from '../src/outreach/inbound.js';
import { createSmtpMailer } from '../src/outreach/mailer.js';
import { inTenant } from '../src/queue/sql.js';
import { createCampaign, createOrg, createPositions, enroll, openTestDb, type TestDb } from './support/db.js';
import {
  connectMailbox,
  messageIdsIn,
  queueVerification,
  testBox,
  testMailServices,
} from './support/mailboxes.js';
import { PUBLIC_BASE_URL, silent, type TestWorker, testWorker } from './support/worker.js';

/**
 * Google mailboxes (XOAUTH2) against the real test SMTP server, Dovecot and OAuth server: only a
 * refused refresh token puts a mailbox in error; an outage of the token endpoint is retried.
 */
describe('OAuth mailboxes: token endpoint failures and rotated refresh tokens', () => {
  const mail = testMail();
  /** A Monday, inside the all-day window of the test mailboxes. */
  const START = new Date('2026-03-02T10:00:00Z');
  let t: TestDb;
  let org: string;
  const workers: TestWorker[] = [];
  let n = 0;

  beforeAll(async () => {
    t = await openTestDb('mailbox-oauth');
    org = await createOrg(t.admin, 'mailbox-oauth');
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await t?.close();
  });

  /** A worker process: its own mail services (token cache, transports) over the shared database. */
  function worker(services: MailServices, clock = new ManualClock(START)) {
    const w = testWorker(t.workerUrl, 'smtp://127.0.0.1:1', clock, {
      handlers: outreachHandlers({
        mailer: createSmtpMailer({ url: 'smtp://127.0.0.1:1' }),
        mail: services,
        publicBaseUrl: PUBLIC_BASE_URL,
        variantSeed: 's',
      }),
    });
    workers.push(w);
    return w;
  }

  /** Verification tasks are queued at the database's now, not START. */
  const verifier = () => worker(testMailServices(), new ManualClock(new Date()));

  async function googleMailbox(label: string, options: { rotating?: boolean } = {}) {
    const address = `${label}-${++n}@sender.test`;
    const refreshToken = issueRefreshToken(mail, address, options);
    const id = await connectMailbox(t.admin, org, {
      address,
      provider: 'google',
      secrets: { refreshToken },
      verified: true,
    });
    return { id, address, refreshToken };
  }

  /** A one-step campaign on the mailbox with one person, due at START. */
  async function campaignOn(mailboxId: string, label: string): Promise<{ enrollment: string; to: string }> {
    const campaign = await createCampaign(t.admin, org, mailboxId, [
      { delayDays: 0, subject: 'Hello', body: 'Step 1' },
    ]);
    const to = `${label}-${++n}@prospect.test`;
    const positions = await createPositions(t.admin, org, [{ email: to }]);
    const [enrollment] = await enroll(t.admin, org, campaign.id, positions, START, `${label}-${n}`);
    return { enrollment: enrollment!, to };
  }

  const mailbox = async (id: string) =>
    (
      await t.admin.query(
        `SELECT status, last_error_code, paused_reason, verification_status, verification FROM outreach.mailboxes WHERE id = $1`,
        [id],
      )
    ).rows[0];
  const sendTask = async (enrollment: string) =>
    (
      await t.admin.query(
        `SELECT status, attempts, last_error FROM outreach.tasks WHERE enrollment_id = $1 AND type = 'send_step'`,
        [enrollment],
      )
    ).rows[0];
  const sentCount = async (enrollment: string) =>
    (
      await t.admin.query(
        `SELECT count(*)::int AS n FROM outreach.messages WHERE enrollment_id = $1 AND direction = 'outbound' AND status = 'sent'`,
        [enrollment],
      )
    ).rows[0].n as number;

  it.each<[string, TokenRefreshFailure]>([
    ['503 temporarily_unavailable', { status: 503, error: 'temporarily_unavailable' }],
    ['429 rate_limit_exceeded', { status: 429, error: 'rate_limit_exceeded' }],
    ['a dropped connection', 'reset'],
  ])(
    'a token endpoint answering %s: the send is retried, the mailbox stays active, and it goes out once the endpoint recovers',
    async (_label, failure) => {
      const box = await googleMailbox('outage');
      const { enrollment, to } = await campaignOn(box.id, 'outage');
      failTokenRefreshes(mail, box.address, failure);
      const w = worker(testMailServices());
      await w.worker.drain();
      expect(await mailbox(box.id)).toMatchObject({ status: 'active', last_error_code: null });
      const waiting = await sendTask(enrollment);
      expect(waiting).toMatchObject({ status: 'pending', attempts: 1 });
      expect(waiting.last_error).toMatch(/token endpoint/);
      expect(waiting.last_error).not.toContain(box.refreshToken);
      expect(await sentCount(enrollment)).toBe(0);

      failTokenRefreshes(mail, box.address, undefined);
      w.clock.advance(3_600_000);
      await w.worker.drain();
      expect(await sentCount(enrollment)).toBe(1);
      expect(await messageIdsIn(to)).toHaveLength(1);
      expect(await mailbox(box.id)).toMatchObject({ status: 'active', last_error_code: null });
    },
  );

  it('during an outage IMAP polling and verification report it as temporary (oauth_unavailable), not auth', async () => {
    const box = await googleMailbox('imap-outage');
    failTokenRefreshes(mail, box.address, { status: 503, error: 'temporarily_unavailable' });
    const w = worker(testMailServices());
    const poller = new MailboxPoller({
      pool: w.pool,
      mail: testMailServices(),
      log: silent,
      intervalMs: 60_000,
      apply: inboundSink(w.clock),
    });
    expect(await poller.pollMailbox(org, box.id)).toMatchObject({ error: 'oauth_unavailable' });

    // Verification waits for the provider: retried, the mailbox left verified meanwhile...
    await queueVerification(t.admin, org, box.id);
    const check = verifier();
    await check.worker.drain();
    const verifyTask = async () =>
      (
        await t.admin.query(
          `SELECT status, attempts, max_attempts, last_error FROM outreach.tasks
           WHERE type = 'verify_mailbox' AND payload->>'mailboxId' = $1`,
          [box.id],
        )
      ).rows[0];
    expect(await verifyTask()).toMatchObject({ status: 'pending', attempts: 1 });
    expect((await verifyTask()).last_error).toMatch(/OAuth provider unavailable/);
    expect(await mailbox(box.id)).toMatchObject({ verification_status: 'verified', status: 'active' });
    // ...and only its last attempt records the outage as the result.
    await t.admin.query(
      `UPDATE outreach.tasks SET attempts = max_attempts - 1, run_at = now() - interval '1 second'
       WHERE type = 'verify_mailbox' AND payload->>'mailboxId' = $1`,
      [box.id],
    );
    check.clock.set(new Date(Date.now() + 1_000));
    await check.worker.drain();
    const checked = await mailbox(box.id);
    expect(checked.verification).toMatchObject({
      smtp: {
        ok: false,
        kind: 'oauth_unavailable',
        answer: expect.stringContaining('temporarily_unavailable'),
      },
      imap: { ok: false, kind: 'oauth_unavailable' },
    });
    expect(checked.status).toBe('active');
    failTokenRefreshes(mail, box.address, undefined);
    expect(await poller.pollMailbox(org, box.id)).not.toHaveProperty('error');
  });

  it('a refused OAuth client puts the mailbox in error saying an operator must act; a revoked token asks to reconnect', async () => {
    const box = await googleMailbox('client');
    const { enrollment } = await campaignOn(box.id, 'client');
    failTokenRefreshes(mail, box.address, { status: 401, error: 'invalid_client' });
    const w = worker(testMailServices());
    await w.worker.drain();
    const refused = await mailbox(box.id);
    expect(refused).toMatchObject({ status: 'error', last_error_code: 'smtp:auth' });
    expect(refused.paused_reason).toMatch(/invalid_client.*operator must fix/);
    // Snoozed until the mailbox is verified again, no attempt spent.
    expect(await sendTask(enrollment)).toMatchObject({ status: 'pending', attempts: 0 });

    await queueVerification(t.admin, org, box.id);
    await verifier().worker.drain();
    expect((await mailbox(box.id)).verification.smtp).toMatchObject({ ok: false, kind: 'oauth_client' });
    failTokenRefreshes(mail, box.address, undefined);

    const revoked = await googleMailbox('revoked');
    revokeRefreshToken(mail, revoked.refreshToken);
    await campaignOn(revoked.id, 'revoked');
    await w.worker.drain();
    const reconnect = await mailbox(revoked.id);
    expect(reconnect).toMatchObject({ status: 'error', last_error_code: 'smtp:auth' });
    expect(reconnect.paused_reason).toMatch(/invalid_grant/);
    expect(reconnect.paused_reason).not.toMatch(/operator/);
  });

  it('with two worker processes, a refresh token the other one rotated is read from the database, not an older one from memory', async () => {
    const pool = new pg.Pool({ connectionString: t.workerUrl, max: 4 });
    try {
      const box = await googleMailbox('rotating', { rotating: true });
      // Two processes: each its own token cache and transports, both storing rotations in the database.
      const b = testMailServices({}, 5_000, pool);
      const a = testMailServices({}, 5_000, pool);
      const workerB = worker(b);
      const workerA = worker(a);
      const first = await campaignOn(box.id, 'rotating');
      await workerB.worker.drain(); // token 1 → 2, stored
      // What B's pooled transport keeps for its life: the account as read before A's rotation.
      const pinned = await inTenant(pool, org, (c) => loadAccount(c, box.id, testBox()));
      const second = await campaignOn(box.id, 'rotating');
      await workerA.worker.drain(); // reads 2 from the database → 3, stored; 2 retired
      expect(await sentCount(first.enrollment)).toBe(1);
      expect(await sentCount(second.enrollment)).toBe(1);

      // B's access token expires and its pool opens a new connection with the pinned account.
      b.access.tokens.invalidate(`${box.id}:1`);
      const transport = nodemailer.createTransport({
        ...(await smtpOptions(pinned!, b.access)),
        pool: false,
      });
      try {
        await expect(transport.verify()).resolves.toBe(true); // 3 → 4, stored
      } finally {
        transport.close();
      }

      // A rotates again; then B's token expires and its transport is gone: its next send refreshes.
      a.access.tokens.invalidate(`${box.id}:1`);
      a.transports.close(box.id);
      await campaignOn(box.id, 'rotating');
      await workerA.worker.drain(); // 4 → 5
      b.access.tokens.invalidate(`${box.id}:1`);
      b.transports.close(box.id);
      const third = await campaignOn(box.id, 'rotating');
      await workerB.worker.drain();
      expect(await mailbox(box.id)).toMatchObject({ status: 'active', last_error_code: null });
      expect(await sentCount(third.enrollment)).toBe(1);
      // Each refresh with the newest token: none refused and retried.
      expect([b.access.tokens.refreshes, a.access.tokens.refreshes]).toEqual([3, 2]);
    } finally {
      await pool.end();
    }
  });
});
