import { setMailPassword, testMail } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { outreachHandlers } from '../src/handlers.js';
import { MailboxSender, type SendingMailbox } from '../src/mailboxes/sender.js';
import { createSmtpMailer, type OutgoingMail } from '../src/outreach/mailer.js';
import { sendStep } from '../src/outreach/send-step.js';
import { createCampaign, createOrg, createPositions, enroll, openTestDb, type TestDb } from './support/db.js';
import { connectMailbox, messageIdsIn, queueVerification, testMailServices } from './support/mailboxes.js';
import { startRefusingSmtp } from './support/smtp.js';
import { PUBLIC_BASE_URL, type TestWorker, testWorker } from './support/worker.js';

const mail = testMail();

/** A sender whose first attempt hands the message to SMTP, then dies before it is recorded. */
class DyingAfterSmtp extends MailboxSender {
  died = 0;
  override async send(
    pool: Parameters<MailboxSender['send']>[0],
    mailbox: SendingMailbox,
    message: OutgoingMail,
  ) {
    const result = await super.send(pool, mailbox, message);
    if (this.died++ === 0)
      throw Object.assign(new Error('connection lost after 250'), { code: 'ECONNECTION' });
    return result;
  }
}
const dyingAfterSmtp = () =>
  new DyingAfterSmtp(testMailServices(), createSmtpMailer({ url: 'smtp://127.0.0.1:1' }));

/** A Monday, inside the all-day window of the test mailboxes. */
const START = new Date('2026-03-02T10:00:00Z');

describe('campaigns sending through connected mailboxes (real SMTP + Dovecot)', () => {
  let t: TestDb;
  const workers: TestWorker[] = [];

  beforeAll(async () => {
    t = await openTestDb('mailbox-campaign');
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await t?.close();
  });

  const worker = (clock: ManualClock, sender?: MailboxSender) => {
    const services = testMailServices();
    const relay = createSmtpMailer({ url: 'smtp://127.0.0.1:1' });
    const handlers = outreachHandlers({
      mailer: relay,
      mail: services,
      publicBaseUrl: PUBLIC_BASE_URL,
      variantSeed: 's',
    });
    const w = testWorker(t.workerUrl, 'smtp://127.0.0.1:1', clock, {
      handlers: sender
        ? { ...handlers, send_step: sendStep({ sender, publicBaseUrl: PUBLIC_BASE_URL, variantSeed: 's' }) }
        : handlers,
    });
    workers.push(w);
    return w;
  };

  async function scenario(label: string, emails: string[], steps = 1) {
    const org = await createOrg(t.admin, label);
    const boxes: string[] = [];
    for (const name of ['one', 'two']) {
      const address = `${label}-${name}@sender.test`;
      setMailPassword(mail, address, 'pw');
      boxes.push(
        await connectMailbox(t.admin, org, {
          address,
          secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
          verified: true,
        }),
      );
    }
    const campaign = await createCampaign(
      t.admin,
      org,
      boxes[0]!,
      Array.from({ length: steps }, (_, i) => ({
        delayDays: i === 0 ? 0 : 1,
        subject: i === 0 ? 'Hello {{person.first_name}}' : null,
        body: `Step ${i + 1}`,
        exitOnReply: true,
      })),
    );
    await t.admin.query(
      `INSERT INTO outreach.campaign_mailboxes (organisation_id, campaign_id, mailbox_id) VALUES ($1, $2, $3)`,
      [org, campaign.id, boxes[1]],
    );
    // Both mailboxes send all day, every day.
    await t.admin.query(
      `UPDATE outreach.mailboxes SET window_start = '00:00', window_end = '23:59:59', window_days = '{1,2,3,4,5,6,7}', time_zone = 'UTC'
       WHERE id = ANY ($1::uuid[])`,
      [boxes],
    );
    const positions = await createPositions(
      t.admin,
      org,
      emails.map((email) => ({ email })),
    );
    const enrollments = await enroll(t.admin, org, campaign.id, positions, START, label);
    return { org, boxes, campaign, enrollments };
  }

  const messages = async (org: string) =>
    (
      await t.admin.query(
        `SELECT m.enrollment_id, m.mailbox_id, m.status, m.message_id_header, m.in_reply_to, m.to_address, m.from_address, ws.step_order
         FROM outreach.messages m JOIN outreach.workflow_steps ws ON ws.id = m.step_id
         WHERE m.organisation_id = $1 AND m.direction = 'outbound' ORDER BY m.to_address, ws.step_order`,
        [org],
      )
    ).rows;

  it('rotates across the campaign mailboxes and keeps every follow-up on its first mailbox, in thread', async () => {
    const emails = Array.from({ length: 6 }, (_, i) => `rot${i}@prospect.test`);
    const s = await scenario('rot', emails, 2);
    const clock = new ManualClock(START);
    const w = worker(clock);
    await w.worker.drain();
    clock.advance(26 * 3600_000);
    await w.worker.drain();
    const rows = await messages(s.org);
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.status === 'sent')).toBe(true);
    // Both mailboxes used, evenly (equal caps).
    const perBox = (id: string) => rows.filter((r) => r.mailbox_id === id && r.step_order === 1).length;
    expect(perBox(s.boxes[0]!)).toBe(3);
    expect(perBox(s.boxes[1]!)).toBe(3);
    for (const email of emails) {
      const [first, second] = rows.filter((r) => r.to_address === email);
      expect(second.mailbox_id).toBe(first.mailbox_id);
      expect(second.from_address).toBe(first.from_address);
      expect(second.in_reply_to).toBe(first.message_id_header);
      // Delivered through the mailbox's own account: in the recipient's INBOX and the sender's Sent.
      const inbox = await messageIdsIn(email);
      expect(inbox).toEqual(expect.arrayContaining([first.message_id_header, second.message_id_header]));
      const sent = await messageIdsIn(first.from_address, 'Sent');
      expect(sent).toEqual(expect.arrayContaining([first.message_id_header, second.message_id_header]));
    }
  });

  it('with one mailbox, pins each enrollment to it at its first send: follow-ups stay there when the campaign moves', async () => {
    const s = await scenario('single', ['s1@prospect.test', 's2@prospect.test'], 2);
    await t.admin.query(`DELETE FROM outreach.campaign_mailboxes WHERE campaign_id = $1`, [s.campaign.id]);
    const pins = async () =>
      (
        await t.admin.query(
          `SELECT p.email, e.mailbox_id FROM outreach.campaign_enrollments e JOIN crm.positions p ON p.id = e.position_id
           WHERE e.organisation_id = $1 ORDER BY p.email`,
          [s.org],
        )
      ).rows;
    // Nothing chosen before anything is sent: the enrollment follows the campaign's mailbox.
    expect((await pins()).map((r) => r.mailbox_id)).toEqual([null, null]);
    const clock = new ManualClock(START);
    const w = worker(clock);
    await w.worker.drain();
    expect((await pins()).map((r) => r.mailbox_id)).toEqual([s.boxes[0], s.boxes[0]]);
    // The campaign moves to the other mailbox: started threads stay on the first, a new enrollment
    // (nothing sent yet) follows the campaign.
    await t.admin.query(`UPDATE outreach.campaigns SET mailbox_id = $2 WHERE id = $1`, [
      s.campaign.id,
      s.boxes[1],
    ]);
    const late = await createPositions(t.admin, s.org, [{ email: 's3@prospect.test' }]);
    await enroll(
      t.admin,
      s.org,
      s.campaign.id,
      late,
      new Date(START.getTime() + 26 * 3600_000),
      'single-late',
    );
    clock.advance(26 * 3600_000);
    await w.worker.drain();
    const rows = await messages(s.org);
    const sent = (email: string) => rows.filter((r) => r.to_address === email);
    for (const email of ['s1@prospect.test', 's2@prospect.test']) {
      const [first, second] = sent(email);
      expect([first.status, second.status]).toEqual(['sent', 'sent']);
      expect(second.mailbox_id).toBe(s.boxes[0]);
      expect(second.in_reply_to).toBe(first.message_id_header);
    }
    expect(sent('s3@prospect.test')[0]).toMatchObject({ mailbox_id: s.boxes[1], status: 'sent' });
    expect((await pins()).map((r) => r.mailbox_id)).toEqual([s.boxes[0], s.boxes[0], s.boxes[1]]);
  });

  it('maps provider answers: 550/551 bounce and suppress, 451 retries, 554 after DATA fails without suppressing', async () => {
    const s = await scenario('codes', [
      'reject-a@prospect.test',
      'gone-b@prospect.test',
      'defer-c@prospect.test',
      'spam-d@prospect.test',
    ]);
    const clock = new ManualClock(START);
    const w = worker(clock);
    await w.worker.drain();
    const rows = await messages(s.org);
    const status = (email: string) => rows.find((r) => r.to_address === email)?.status;
    expect(status('reject-a@prospect.test')).toBe('bounced');
    expect(status('gone-b@prospect.test')).toBe('bounced');
    expect(status('defer-c@prospect.test')).toBe('queued');
    expect(status('spam-d@prospect.test')).toBe('failed');
    const suppressed = (
      await t.admin.query(
        `SELECT email FROM outreach.suppressions WHERE organisation_id = $1 ORDER BY email`,
        [s.org],
      )
    ).rows.map((r) => r.email);
    expect(suppressed).toEqual(['gone-b@prospect.test', 'reject-a@prospect.test']);
    const tasks = (
      await t.admin.query(
        `SELECT p.email, t.status, t.attempts, t.last_error FROM outreach.tasks t
         JOIN outreach.campaign_enrollments e ON e.id = t.enrollment_id JOIN crm.positions p ON p.id = e.position_id
         WHERE t.organisation_id = $1 AND t.type = 'send_step'`,
        [s.org],
      )
    ).rows;
    const task = (email: string) => tasks.find((r) => r.email === email);
    expect(task('defer-c@prospect.test')).toMatchObject({ status: 'pending', attempts: 1 });
    expect(task('defer-c@prospect.test')!.last_error).toMatch(/451/);
    expect(task('spam-d@prospect.test')).toMatchObject({ status: 'failed' });
    const enrollment = await t.admin.query(
      `SELECT p.email, e.status FROM outreach.campaign_enrollments e JOIN crm.positions p ON p.id = e.position_id WHERE e.organisation_id = $1`,
      [s.org],
    );
    expect(enrollment.rows.find((r) => r.email === 'spam-d@prospect.test')?.status).toBe('paused');
  });

  it('a 535 puts the mailbox in error, its sends wait and nothing is sent from it', async () => {
    const s = await scenario('auth', ['a1@prospect.test', 'a2@prospect.test']);
    // Both accounts' passwords changed at the provider.
    setMailPassword(mail, 'auth-one@sender.test', 'changed');
    setMailPassword(mail, 'auth-two@sender.test', 'changed');
    const clock = new ManualClock(START);
    const w = worker(clock);
    await w.worker.drain();
    const boxes = await t.admin.query(
      `SELECT status, last_error_code FROM outreach.mailboxes WHERE id = ANY ($1::uuid[])`,
      [s.boxes],
    );
    expect(boxes.rows).toEqual([
      { status: 'error', last_error_code: 'smtp:auth' },
      { status: 'error', last_error_code: 'smtp:auth' },
    ]);
    const tasks = await t.admin.query(
      `SELECT status, attempts, run_at FROM outreach.tasks WHERE organisation_id = $1 AND type = 'send_step'`,
      [s.org],
    );
    expect(tasks.rows).toHaveLength(2);
    for (const task of tasks.rows) {
      expect(task).toMatchObject({ status: 'pending', attempts: 0 });
      expect(task.run_at.getTime()).toBeGreaterThan(clock.now().getTime());
    }
    expect(await messageIdsIn('a1@prospect.test')).toEqual([]);
  });

  it('does not send twice when the earlier attempt reached SMTP: found in the Sent folder, recorded as sent', async () => {
    const s = await scenario('resend', ['once@prospect.test']);
    const sender = dyingAfterSmtp();
    const clock = new ManualClock(START);
    const w = worker(clock, sender);
    await w.worker.drain();
    expect(sender.died).toBe(1);
    const [queued] = await messages(s.org);
    expect(queued.status).toBe('queued');
    clock.advance(120_000);
    await w.worker.drain();
    const [after] = await messages(s.org);
    expect(after.status).toBe('sent');
    const smtpResponse = await t.admin.query(
      `SELECT smtp_response FROM outreach.messages WHERE organisation_id = $1 AND direction = 'outbound'`,
      [s.org],
    );
    expect(smtpResponse.rows[0].smtp_response).toMatch(/found in the mailbox's Sent folder/);
    // Delivered exactly once: the retry did not resend.
    const inbox = await messageIdsIn('once@prospect.test');
    expect(inbox.filter((id) => id === after.message_id_header)).toHaveLength(1);
    expect(sender.died).toBe(1);
    sender.close();
  });
  it('a retried first send stays on the mailbox it was reserved on, even after the campaign moved', async () => {
    const s = await scenario('moved', ['moved@prospect.test']);
    await t.admin.query(`DELETE FROM outreach.campaign_mailboxes WHERE campaign_id = $1`, [s.campaign.id]);
    const sender = dyingAfterSmtp();
    const clock = new ManualClock(START);
    const w = worker(clock, sender);
    await w.worker.drain();
    const [queued] = await messages(s.org);
    expect(queued).toMatchObject({ status: 'queued', mailbox_id: s.boxes[0] });
    // Before the retry, the campaign moves to the other mailbox.
    await t.admin.query(`UPDATE outreach.campaigns SET mailbox_id = $2 WHERE id = $1`, [
      s.campaign.id,
      s.boxes[1],
    ]);
    clock.advance(120_000);
    await w.worker.drain();
    const [after] = await messages(s.org);
    expect(after).toMatchObject({
      status: 'sent',
      mailbox_id: s.boxes[0],
      from_address: 'moved-one@sender.test',
    });
    // Found in the first mailbox's Sent folder, not sent again from the second.
    expect(
      (await messageIdsIn('moved@prospect.test')).filter((id) => id === after.message_id_header),
    ).toHaveLength(1);
    expect(await messageIdsIn('moved-two@sender.test', 'Sent')).not.toContain(after.message_id_header);
    const pinned = await t.admin.query(`SELECT mailbox_id FROM outreach.campaign_enrollments WHERE id = $1`, [
      s.enrollments[0],
    ]);
    expect(pinned.rows[0].mailbox_id).toBe(s.boxes[0]);
    sender.close();
  });

  it('a mailbox in error comes back through a new verification, and its waiting sends go out at once', async () => {
    const s = await scenario('recover', ['back@prospect.test']);
    await t.admin.query(`DELETE FROM outreach.campaign_mailboxes WHERE campaign_id = $1`, [s.campaign.id]);
    setMailPassword(mail, 'recover-one@sender.test', 'changed');
    // Due-ness after a wake-up is the database's time: the worker's clock follows the real one here.
    const clock = new ManualClock(new Date());
    const catchUp = () => clock.set(new Date(Math.max(Date.now(), clock.now().getTime())));
    const w = worker(clock);
    await w.worker.drain();
    const box = async () =>
      (
        await t.admin.query(
          `SELECT status, verification_status, last_error_code FROM outreach.mailboxes WHERE id = $1`,
          [s.boxes[0]],
        )
      ).rows[0];
    expect(await box()).toMatchObject({
      status: 'error',
      verification_status: 'verified',
      last_error_code: 'smtp:auth',
    });
    // The user fixes the password at the provider and asks for a new check (POST /v1/mailboxes/:id/verify).
    setMailPassword(mail, 'recover-one@sender.test', 'pw');
    await queueVerification(t.admin, s.org, s.boxes[0]!);
    catchUp();
    await w.worker.drain();
    expect(await box()).toMatchObject({
      status: 'active',
      verification_status: 'verified',
      last_error_code: null,
    });
    // Well within the 10-minute snooze: only the wake-up makes the send due.
    catchUp();
    clock.advance(60_000);
    await w.worker.drain();
    const [sent] = await messages(s.org);
    expect(sent).toMatchObject({ status: 'sent', mailbox_id: s.boxes[0] });
    expect(await messageIdsIn('back@prospect.test')).toContain(sent.message_id_header);
  });

  it('stored credentials that do not open fail the verification visibly instead of retrying forever', async () => {
    const s = await scenario('sealed', []);
    // Another mailbox's ciphertext: bound to another record, it does not open here.
    await t.admin.query(
      `UPDATE outreach.mailboxes dst SET secret_ciphertext = src.secret_ciphertext, secret_wrapped_key = src.secret_wrapped_key,
         verification_status = 'unverified', verified_at = NULL
       FROM outreach.mailboxes src WHERE src.id = $1 AND dst.id = $2`,
      [s.boxes[1], s.boxes[0]],
    );
    await queueVerification(t.admin, s.org, s.boxes[0]!);
    await worker(new ManualClock(new Date())).worker.drain();
    const { rows } = await t.admin.query(
      `SELECT verification_status, last_error_code, verification FROM outreach.mailboxes WHERE id = $1`,
      [s.boxes[0]],
    );
    expect(rows[0]).toMatchObject({
      verification_status: 'failed',
      last_error_code: 'secrets:secrets_unreadable',
    });
    expect(rows[0].verification.secrets).toMatchObject({ ok: false, kind: 'secrets_unreadable' });
    const task = await t.admin.query(
      `SELECT status FROM outreach.tasks WHERE organisation_id = $1 AND type = 'verify_mailbox'`,
      [s.org],
    );
    expect(task.rows).toEqual([{ status: 'succeeded' }]);
  });

  /** Sends, attempts and mailbox state of a scenario whose one mailbox cannot send. */
  const waiting = async (s: { org: string; boxes: string[] }) => ({
    messages: (await messages(s.org)).map((m) => m.status),
    tasks: (
      await t.admin.query(
        `SELECT status, attempts FROM outreach.tasks WHERE organisation_id = $1 AND type = 'send_step'`,
        [s.org],
      )
    ).rows,
    enrollments: (
      await t.admin.query(`SELECT status FROM outreach.campaign_enrollments WHERE organisation_id = $1`, [
        s.org,
      ])
    ).rows.map((r) => r.status),
    suppressed: Number(
      (await t.admin.query(`SELECT count(*) FROM outreach.suppressions WHERE organisation_id = $1`, [s.org]))
        .rows[0].count,
    ),
    mailbox: (
      await t.admin.query(
        `SELECT status, verification_status, last_error_code FROM outreach.mailboxes WHERE id = $1`,
        [s.boxes[0]],
      )
    ).rows[0],
  });

  it('a mailbox whose key was removed too early: its sends wait without spending attempts, and go out once the key is back', async () => {
    const s = await scenario('keyless', ['k1@prospect.test', 'k2@prospect.test']);
    await t.admin.query(`DELETE FROM outreach.campaign_mailboxes WHERE campaign_id = $1`, [s.campaign.id]);
    const { rows } = await t.admin.query(
      `UPDATE outreach.mailboxes SET secret_key_id = 'local:retired-k1' WHERE id = $1
       RETURNING (SELECT secret_key_id FROM outreach.mailboxes WHERE id = $1) AS kept`,
      [s.boxes[0]],
    );
    const clock = new ManualClock(START);
    const w = worker(clock);
    // Well past max_attempts (6) rounds: the first attempt, then resends of the reservation.
    for (let round = 0; round < 10; round++) {
      await w.worker.drain();
      clock.advance(3 * 3600_000);
    }
    expect(await waiting(s)).toEqual({
      messages: ['queued', 'queued'],
      tasks: [
        { status: 'pending', attempts: 0 },
        { status: 'pending', attempts: 0 },
      ],
      enrollments: ['active', 'active'],
      suppressed: 0,
      mailbox: { status: 'active', verification_status: 'verified', last_error_code: null },
    });
    // The operator puts the key back: the waiting sends go out (the reservations, resent once).
    await t.admin.query(`UPDATE outreach.mailboxes SET secret_key_id = $2 WHERE id = $1`, [
      s.boxes[0],
      rows[0].kept,
    ]);
    await w.worker.drain();
    const sent = await messages(s.org);
    expect(sent.map((m) => m.status)).toEqual(['sent', 'sent']);
    expect(await messageIdsIn('k1@prospect.test')).toContain(sent[0].message_id_header);
  });

  it('credentials that do not open while sending put the mailbox in error (secrets:secrets_unreadable); nothing fails', async () => {
    const s = await scenario('damaged', ['d1@prospect.test', 'd2@prospect.test']);
    await t.admin.query(`DELETE FROM outreach.campaign_mailboxes WHERE campaign_id = $1`, [s.campaign.id]);
    await t.admin.query(
      `UPDATE outreach.mailboxes SET secret_ciphertext = set_byte(secret_ciphertext, 40, get_byte(secret_ciphertext, 40) # 1)
       WHERE id = $1`,
      [s.boxes[0]],
    );
    const clock = new ManualClock(START);
    const w = worker(clock);
    for (let round = 0; round < 10; round++) {
      await w.worker.drain();
      clock.advance(3 * 3600_000);
    }
    expect(await waiting(s)).toEqual({
      messages: ['queued', 'queued'],
      tasks: [
        { status: 'pending', attempts: 0 },
        { status: 'pending', attempts: 0 },
      ],
      enrollments: ['active', 'active'],
      suppressed: 0,
      mailbox: {
        status: 'error',
        verification_status: 'verified',
        last_error_code: 'secrets:secrets_unreadable',
      },
    });
  });

  it('a server refusing the client at its greeting puts the mailbox in error: nobody bounced or suppressed', async () => {
    const server = await startRefusingSmtp({ greeting: '550 5.7.1 Access denied: your IP is not allowed' });
    try {
      const s = await scenario('greeting', ['g1@prospect.test']);
      await t.admin.query(`DELETE FROM outreach.campaign_mailboxes WHERE campaign_id = $1`, [s.campaign.id]);
      await t.admin.query(
        `UPDATE outreach.mailboxes SET smtp_host = '127.0.0.1', smtp_port = $2 WHERE id = $1`,
        [s.boxes[0], server.port],
      );
      await worker(new ManualClock(START)).worker.drain();
      expect(server.connections).toBeGreaterThan(0);
      expect(await waiting(s)).toEqual({
        messages: ['queued'],
        tasks: [{ status: 'pending', attempts: 0 }],
        enrollments: ['active'],
        suppressed: 0,
        mailbox: { status: 'error', verification_status: 'verified', last_error_code: 'smtp:auth' },
      });
    } finally {
      await server.close();
    }
  });
});
