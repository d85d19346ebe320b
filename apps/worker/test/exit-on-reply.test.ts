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

// Exit on reply, end to end (issue 16): the worker sends through a connected mailbox (real SMTP),
// the reply comes back through the IMAP poller (real Dovecot), and the sequence goes on after it
// with the steps whose exit_on_reply is false, in order, until a step that exits on reply: that
// one, and everything after it, never goes out.
describe('after a reply: steps that do not exit on reply go on, the first that does ends the sequence', () => {
  const mail = testMail();
  const START = new Date('2026-03-02T10:00:00Z');
  const address = 'exit-on-reply@sender.test';
  let t: TestDb;
  let w: TestWorker;
  let org: string;
  let mailboxId: string;

  beforeAll(async () => {
    t = await openTestDb('exit-on-reply');
    org = await createOrg(t.admin, 'exit-on-reply');
    setMailPassword(mail, address, 'pw');
    mailboxId = await connectMailbox(t.admin, org, {
      address,
      secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
      verified: true,
    });
    const clock = new ManualClock(START);
    w = testWorker(t.workerUrl, 'smtp://127.0.0.1:1', clock, {
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

  const step = (n: number, exitOnReply: boolean) => ({
    delayDays: n === 1 ? 0 : 1,
    subject: n === 1 ? 'Hello' : null,
    body: `Step ${n}`,
    exitOnReply,
  });

  async function enrolled(label: string, email: string, flags: boolean[]) {
    const campaign = await createCampaign(
      t.admin,
      org,
      mailboxId,
      flags.map((f, i) => step(i + 1, f)),
      { name: label },
    );
    const positions = await createPositions(t.admin, org, [{ email }]);
    const [enrollment] = await enroll(t.admin, org, campaign.id, positions, START, label);
    return enrollment!;
  }

  const sentSteps = async (enrollment: string) =>
    (
      await t.admin.query<{ step_order: number; message_id_header: string }>(
        `SELECT s.step_order, m.message_id_header FROM outreach.messages m JOIN outreach.workflow_steps s ON s.id = m.step_id
         WHERE m.enrollment_id = $1 AND m.direction = 'outbound' AND m.status = 'sent' ORDER BY s.step_order`,
        [enrollment],
      )
    ).rows;

  const state = async (enrollment: string) =>
    (
      await t.admin.query(
        `SELECT e.status, (SELECT count(*)::int FROM outreach.tasks k WHERE k.enrollment_id = e.id AND k.status = 'pending') AS pending
         FROM outreach.campaign_enrollments e WHERE e.id = $1`,
        [enrollment],
      )
    ).rows[0];

  async function replyTo(from: string, messageId: string) {
    const client = await testImapClient(address);
    await client.append(
      'INBOX',
      [
        `From: ${from}`,
        `To: ${address}`,
        'Subject: Re: Hello',
        `Message-ID: <reply.${from}>`,
        `In-Reply-To: ${messageId}`,
        `References: ${messageId}`,
        '',
        'Interested, tell me more.',
        '',
      ].join('\r\n'),
    );
    await client.logout();
  }

  it('sends steps 2 and 3 (exit_on_reply false) after the reply, never step 4; a true step 2 ends it at once', async () => {
    const goesOn = await enrolled('goes-on', 'ivy@prospect.test', [true, false, false, true]);
    const endsNow = await enrolled('ends-now', 'jon@prospect.test', [true, true, false]);
    await w.worker.drain();
    const [ivy1] = await sentSteps(goesOn);
    const [jon1] = await sentSteps(endsNow);
    expect(ivy1?.step_order).toBe(1);
    expect(jon1?.step_order).toBe(1);

    await replyTo('ivy@prospect.test', ivy1!.message_id_header);
    await replyTo('jon@prospect.test', jon1!.message_id_header);
    const poller = new MailboxPoller({
      pool: w.pool,
      mail: testMailServices(),
      log: silent,
      intervalMs: 60_000,
      apply: inboundSink(w.clock),
    });
    expect((await poller.pollMailbox(org, mailboxId)).read).toBe(2);
    expect(await state(goesOn)).toEqual({ status: 'replied', pending: 1 });
    expect(await state(endsNow)).toEqual({ status: 'replied', pending: 0 });

    for (let day = 0; day < 4; day++) {
      w.clock.advance(26 * 3600_000);
      await w.worker.drain();
    }
    expect((await sentSteps(goesOn)).map((m) => m.step_order)).toEqual([1, 2, 3]);
    expect((await sentSteps(endsNow)).map((m) => m.step_order)).toEqual([1]);
    expect(await state(goesOn)).toEqual({ status: 'replied', pending: 0 });
    expect(await state(endsNow)).toEqual({ status: 'replied', pending: 0 });
    const notSent = await t.admin.query(
      `SELECT count(*)::int AS n FROM outreach.messages WHERE enrollment_id = ANY ($1::uuid[]) AND direction = 'outbound' AND status <> 'sent'`,
      [[goesOn, endsNow]],
    );
    expect(notSent.rows[0].n).toBe(0);
  });
});
