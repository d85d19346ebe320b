import { setMailPassword, testMail } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { outreachHandlers } from '../src/handlers.js';
import { MailboxPoller } from '../src/mailboxes/poller.js';
import { inboundSink } from '../src/outreach/inbound.js';
import { createSmtpMailer } from '../src/outreach/mailer.js';
import { createCampaign, createOrg, createPositions, enroll, openTestDb, type TestDb } from './support/db.js';
import { connectMailbox, testImapClient, testMailServices } from './support/mailboxes.js';
import { PUBLIC_BASE_URL, silent, type TestWorker, testWorker } from './support/worker.js';

// A mailbox in `error` cannot send, but its INBOX is still read (migration 1001): a reply that
// arrives while it waits stops the sequence before the mailbox recovers and its sends are woken.
describe('a mailbox in error is still polled (real SMTP + Dovecot)', () => {
  const mail = testMail();
  const START = new Date('2026-03-02T10:00:00Z');
  const address = 'error-polled@sender.test';
  let t: TestDb;
  let w: TestWorker;
  let org: string;
  let mailboxId: string;

  beforeAll(async () => {
    t = await openTestDb('error-polling');
    org = await createOrg(t.admin, 'error-polling');
    setMailPassword(mail, address, 'pw');
    mailboxId = await connectMailbox(t.admin, org, {
      address,
      secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
      verified: true,
    });
    w = testWorker(t.workerUrl, 'smtp://127.0.0.1:1', new ManualClock(START), {
      handlers: outreachHandlers({
        mailer: createSmtpMailer({ url: 'smtp://127.0.0.1:1' }),
        mail: testMailServices(),
        publicBaseUrl: PUBLIC_BASE_URL,
        variantSeed: 's',
      }),
    });
  });
  afterAll(async () => {
    await w?.close();
    await t?.close();
  });

  it('reads a reply that arrived while the mailbox was in error: the follow-up never goes out after it recovers', async () => {
    const campaign = await createCampaign(t.admin, org, mailboxId, [
      { delayDays: 0, subject: 'Hello', body: 'Step 1', exitOnReply: true },
      { delayDays: 1, subject: null, body: 'Step 2', exitOnReply: true },
    ]);
    const positions = await createPositions(t.admin, org, [{ email: 'kim@prospect.test' }]);
    const [enrollment] = await enroll(t.admin, org, campaign.id, positions, START, 'error-polled');
    await w.worker.drain();
    const sent = async () =>
      (
        await t.admin.query(
          `SELECT s.step_order, m.message_id_header FROM outreach.messages m JOIN outreach.workflow_steps s ON s.id = m.step_id
           WHERE m.enrollment_id = $1 AND m.direction = 'outbound' AND m.status = 'sent' ORDER BY s.step_order`,
          [enrollment],
        )
      ).rows;
    const [first] = await sent();
    expect(first?.step_order).toBe(1);

    // The provider refuses the SMTP login (as send-step records a 535); IMAP still works.
    await t.admin.query(
      `UPDATE outreach.mailboxes SET status = 'error', last_error_code = 'smtp:auth', paused_reason = '535' WHERE id = $1`,
      [mailboxId],
    );
    const client = await testImapClient(address);
    await client.append(
      'INBOX',
      [
        'From: kim@prospect.test',
        `To: ${address}`,
        'Subject: Re: Hello',
        'Message-ID: <reply.kim@prospect.test>',
        `In-Reply-To: ${first!.message_id_header}`,
        '',
        'Not interested, thanks.',
        '',
      ].join('\r\n'),
    );
    await client.logout();

    const poller = new MailboxPoller({
      pool: w.pool,
      mail: testMailServices(),
      log: silent,
      intervalMs: 60_000,
      apply: inboundSink(w.clock),
    });
    expect(await poller.pollAll()).toEqual([expect.objectContaining({ mailboxId, read: 1 })]);
    const state = await t.admin.query(`SELECT status FROM outreach.campaign_enrollments WHERE id = $1`, [
      enrollment,
    ]);
    expect(state.rows[0].status).toBe('replied');
    // Polling changed nothing on the mailbox itself.
    const box = await t.admin.query(`SELECT status, last_error_code FROM outreach.mailboxes WHERE id = $1`, [
      mailboxId,
    ]);
    expect(box.rows[0]).toEqual({ status: 'error', last_error_code: 'smtp:auth' });

    // It recovers (as a passing verification leaves it) and its sends are due: step 2 stays unsent.
    await t.admin.query(
      `UPDATE outreach.mailboxes SET status = 'active', last_error_code = NULL, paused_reason = NULL WHERE id = $1`,
      [mailboxId],
    );
    for (let day = 0; day < 3; day++) {
      w.clock.advance(26 * 3600_000);
      await w.worker.drain();
    }
    expect((await sent()).map((m) => m.step_order)).toEqual([1]);
  });
});
