import { setMailPassword, testMail } from '@prospectflow/testing';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { MailboxPoller } from '../src/mailboxes/poller.js';
import { inboundSink } from '../src/outreach/inbound.js';
import { createCampaign, createOrg, createPositions, enroll, openTestDb, type TestDb } from './support/db.js';
import { connectMailbox, testMailServices } from './support/mailboxes.js';
import { silent, waitUntil } from './support/worker.js';

// The worker's IMAP poller is the second door for replies and bounces (the API's webhook is the
// first): both go through outreach-core's applyInbound → stopEnrollment.
describe('IMAP poller → applyInbound → stopEnrollment (real Dovecot)', () => {
  let t: TestDb;
  let pool: pg.Pool;
  let org: string;
  let campaignId: string;
  let enrollments: string[];
  const mail = testMail();
  const address = 'inbound@sender.test';
  const clock = new ManualClock('2026-03-03T10:00:00Z');
  const people = ['answer-amy@prospect.test', 'bounce-ben@prospect.test'];

  beforeAll(async () => {
    t = await openTestDb('imap-inbound');
    pool = new pg.Pool({ connectionString: t.workerUrl, max: 4 });
    org = await createOrg(t.admin, 'imap-inbound-org');
    setMailPassword(mail, address, 'pw');
    const mailboxId = await connectMailbox(t.admin, org, {
      address,
      secrets: { imapPassword: 'pw', smtpPassword: 'pw' },
      verified: true,
    });
    const campaign = await createCampaign(t.admin, org, mailboxId, [
      { delayDays: 0, subject: 'Hi', body: 'Hello' },
      { delayDays: 2, subject: 'Again', body: 'Hello again' },
    ]);
    campaignId = campaign.id;
    const positions = await createPositions(
      t.admin,
      org,
      people.map((email) => ({ email })),
    );
    enrollments = await enroll(t.admin, org, campaign.id, positions, clock.now());
    // What the worker leaves after step 1: the sent message, and step 2 queued.
    for (const [i, enrollment] of enrollments.entries()) {
      await t.admin.query(
        `INSERT INTO outreach.messages (organisation_id, enrollment_id, step_id, mailbox_id, direction, status, message_id_header, to_address, subject, unsubscribe_token, sent_at)
         VALUES ($1, $2, $3, $4, 'outbound', 'sent', $5, $6, 'Hi', $7, now())`,
        [
          org,
          enrollment,
          campaign.steps[0]!.id,
          mailboxId,
          `<step1-${i}@sender.test>`,
          people[i],
          `unsubInbound${i}AAAAAAAAAAAA`,
        ],
      );
      await t.admin.query(
        `UPDATE outreach.tasks SET type = 'send_step', step_id = $2, run_at = now() + interval '2 days'
         WHERE enrollment_id = $1`,
        [enrollment, campaign.steps[1]!.id],
      );
    }
    const smtp = nodemailer.createTransport({
      host: mail.host,
      port: mail.smtpPort,
      secure: false,
      auth: { user: address, pass: 'pw' },
    });
    for (const [i, to] of people.entries())
      await smtp.sendMail({
        from: address,
        to,
        subject: 'Hi',
        text: 'Hello',
        messageId: `<step1-${i}@sender.test>`,
      });
  });
  afterAll(async () => {
    await pool?.end();
    await t?.close();
  });

  const enrollment = async (id: string) =>
    (
      await t.admin.query<{ status: string; pending: number }>(
        `SELECT e.status, (SELECT count(*)::int FROM outreach.tasks k WHERE k.enrollment_id = e.id AND k.status = 'pending') AS pending
         FROM outreach.campaign_enrollments e WHERE e.id = $1`,
        [id],
      )
    ).rows[0];

  it('a reply stops its enrollment as replied and a DSN bounces and suppresses, each cancelling the next step and counted', async () => {
    const poller = new MailboxPoller({
      pool,
      mail: testMailServices(),
      log: silent,
      intervalMs: 60_000,
      apply: inboundSink(clock),
    });
    let read = 0;
    await waitUntil(
      async () => {
        read += (await poller.pollAll())[0]?.read ?? 0;
        return read >= 2;
      },
      'the reply and the DSN read',
      20_000,
    );
    expect(await enrollment(enrollments[0]!)).toEqual({ status: 'replied', pending: 0 });
    expect(await enrollment(enrollments[1]!)).toEqual({ status: 'bounced', pending: 0 });
    const sup = await t.admin.query(
      'SELECT email::text, reason FROM outreach.suppressions WHERE organisation_id = $1',
      [org],
    );
    expect(sup.rows).toEqual([{ email: people[1], reason: 'hard_bounce' }]);
    const stats = await t.admin.query(
      'SELECT sum(replied)::int AS replied, sum(bounced)::int AS bounced FROM tracking.campaign_daily_stats WHERE campaign_id = $1',
      [campaignId],
    );
    expect(stats.rows[0]).toEqual({ replied: 1, bounced: 1 });
    const stored = await t.admin.query(
      `SELECT inbound_kind FROM outreach.messages WHERE organisation_id = $1 AND direction = 'inbound' ORDER BY inbound_kind`,
      [org],
    );
    expect(stored.rows.map((r) => r.inbound_kind)).toEqual(['bounce', 'reply']);
  });
});
