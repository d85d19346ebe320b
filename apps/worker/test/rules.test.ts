import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { createLogger, withoutAddresses } from '../src/logger.js';
import {
  createCampaign,
  createMailbox,
  createOrg,
  createPositions,
  enroll,
  openTestDb,
  type TestDb,
} from './support/db.js';
import { type SinkOptions, type SmtpSink, startSmtpSink } from './support/smtp.js';
import { type TestWorker, testWorker } from './support/worker.js';

// Tuesday 3 March 2026, 10:00 in Paris (CET): inside a 09:00–17:00 weekday window.
const INSIDE = '2026-03-03T09:00:00Z';

describe('sequence rules', { timeout: 60_000 }, () => {
  let t: TestDb;
  let smtp: SmtpSink;
  let w: TestWorker;
  const clock = new ManualClock(INSIDE);
  let n = 0;

  /** A one-org scenario with its own mailbox and campaign; returns ids. */
  async function scenario(
    people: { email: string; firstName?: string | null }[],
    mailbox: Parameters<typeof createMailbox>[2] extends infer M ? Partial<M> : never = {},
    steps = [{ delayDays: 0, subject: 'Hello {{person.first_name}}', body: 'Hi {{person.first_name}}' }],
  ) {
    n += 1;
    const org = await createOrg(t.admin, `rules-${n}`);
    const mailboxId = await createMailbox(t.admin, org, { address: `sales@rules${n}.test`, ...mailbox });
    const campaign = await createCampaign(t.admin, org, mailboxId, steps, { name: `c${n}` });
    const positions = await createPositions(t.admin, org, people);
    const enrollments = await enroll(t.admin, org, campaign.id, positions, clock.now());
    return { org, mailboxId, campaign, enrollments };
  }

  async function task(enrollmentId: string) {
    const { rows } = await t.admin.query(
      `SELECT status, attempts, run_at, last_error FROM outreach.tasks WHERE enrollment_id = $1 AND type = 'send_step' ORDER BY created_at DESC LIMIT 1`,
      [enrollmentId],
    );
    return rows[0];
  }

  /** INSIDE plus `offsetS` seconds. */
  const at = (offsetS: number) => new Date(Date.parse(INSIDE) + offsetS * 1000).toISOString();

  /** The organisation's send tasks, with their enrollment and recipient. */
  async function sendTasks(org: string) {
    const { rows } = await t.admin.query(
      `SELECT e.id, p.email, tk.status, tk.attempts, tk.run_at, tk.last_error
       FROM outreach.tasks tk JOIN outreach.campaign_enrollments e ON e.id = tk.enrollment_id
       JOIN crm.positions p ON p.id = e.position_id
       WHERE tk.organisation_id = $1 AND tk.type = 'send_step'`,
      [org],
    );
    return rows;
  }

  /** The first of these recipients to reach RCPT is deferred with a 451, until the sink is reset. */
  function deferFirstOf(prefix: string): () => string | undefined {
    let deferred: string | undefined;
    smtp.setRcpt((address) => {
      if (!address.startsWith(prefix) || (deferred && deferred !== address)) return undefined;
      deferred = address;
      return { code: 451, message: '4.7.1 Try again later' };
    });
    return () => deferred;
  }

  const defaultRcpt: SinkOptions['rcpt'] = (address) => {
    if (address.startsWith('gone')) return { code: 550, message: '5.1.1 No such user' };
    if (address.startsWith('busy')) return { code: 451, message: '4.7.1 Try again later' };
    return undefined;
  };

  beforeAll(async () => {
    t = await openTestDb('rules');
    smtp = await startSmtpSink();
    smtp.setRcpt(defaultRcpt);
    w = testWorker(t.workerUrl, smtp.url, clock, { backoff: { baseMs: 60_000, capMs: 3600_000 } });
  });

  afterAll(async () => {
    await w?.close();
    await smtp?.close();
    await t?.close();
  });

  it('exit on reply: a reply that lands after scheduling stops the send (checked in the send transaction)', async () => {
    const s = await scenario([{ email: 'replier@x.test' }]);
    clock.set('2026-03-03T06:00:00Z'); // before the window: step 1 waits for 09:00 Paris
    await w.worker.drain();
    await t.admin.query(
      `INSERT INTO outreach.messages (organisation_id, enrollment_id, direction, status, inbound_kind, message_id_header, from_address, subject)
       VALUES ($1, $2, 'inbound', 'received', 'reply', '<reply-1@x.test>', 'replier@x.test', 'Re: Hello')`,
      [s.org, s.enrollments[0]],
    );
    clock.set(INSIDE);
    const before = smtp.mails.length;
    await w.worker.drain();
    expect(smtp.mails.length).toBe(before);
    const e = await t.admin.query('SELECT status FROM outreach.campaign_enrollments WHERE id = $1', [
      s.enrollments[0],
    ]);
    expect(e.rows[0].status).toBe('replied');
    expect((await task(s.enrollments[0]!)).status).toBe('succeeded');
  });

  it('hard bounce: a 550 bounces the enrollment, suppresses the address and is not retried', async () => {
    const s = await scenario([{ email: 'gone@x.test' }]);
    await w.worker.drain();
    const msg = await t.admin.query(`SELECT status, error FROM outreach.messages WHERE enrollment_id = $1`, [
      s.enrollments[0],
    ]);
    expect(msg.rows[0].status).toBe('bounced');
    expect(msg.rows[0].error).toMatch(/550/);
    const sup = await t.admin.query(
      `SELECT reason FROM outreach.suppressions WHERE organisation_id = $1 AND email = 'gone@x.test'`,
      [s.org],
    );
    expect(sup.rows[0].reason).toBe('hard_bounce');
    const e = await t.admin.query('SELECT status FROM outreach.campaign_enrollments WHERE id = $1', [
      s.enrollments[0],
    ]);
    expect(e.rows[0].status).toBe('bounced');
    const tk = await task(s.enrollments[0]!);
    expect(tk).toMatchObject({ status: 'succeeded', attempts: 1 });
    const stats = await t.admin.query(
      'SELECT bounced, sent FROM tracking.campaign_daily_stats WHERE campaign_id = $1',
      [s.campaign.id],
    );
    expect(stats.rows[0]).toEqual({ bounced: 1, sent: 0 });
  });

  it('4xx: retried later with backoff (attempt spent), then sent once with the same Message-ID', async () => {
    const s = await scenario([{ email: 'busy@x.test' }]);
    await w.worker.drain();
    const first = await task(s.enrollments[0]!);
    expect(first.status).toBe('pending');
    expect(first.attempts).toBe(1);
    expect(first.last_error).toMatch(/451/);
    expect(first.run_at.getTime()).toBeGreaterThanOrEqual(clock.now().getTime());
    expect(first.run_at.getTime()).toBeLessThanOrEqual(clock.now().getTime() + 60_000);
    const reserved = await t.admin.query(
      `SELECT status, message_id_header FROM outreach.messages WHERE enrollment_id = $1`,
      [s.enrollments[0]],
    );
    expect(reserved.rows[0].status).toBe('queued');
    smtp.setRcpt((address) =>
      address.startsWith('gone') ? { code: 550, message: '5.1.1 No such user' } : undefined,
    );
    clock.advance(60_000);
    await w.worker.drain();
    const after = await task(s.enrollments[0]!);
    expect(after).toMatchObject({ status: 'succeeded', attempts: 2 });
    const delivered = smtp.mails.filter((m) => m.envelopeTo[0] === 'busy@x.test');
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.parsed.messageId).toBe(reserved.rows[0].message_id_header);
  });

  it('suppressed (unsubscribed) addresses are never sent to', async () => {
    const s = await scenario([{ email: 'optout@x.test' }]);
    await t.admin.query(
      `INSERT INTO outreach.suppressions (organisation_id, email, reason) VALUES ($1, 'optout@x.test', 'unsubscribed')`,
      [s.org],
    );
    await w.worker.drain();
    expect(smtp.mails.some((m) => m.envelopeTo[0] === 'optout@x.test')).toBe(false);
    const e = await t.admin.query('SELECT status FROM outreach.campaign_enrollments WHERE id = $1', [
      s.enrollments[0],
    ]);
    expect(e.rows[0].status).toBe('unsubscribed');
  });

  it('daily cap: over the cap the task is snoozed to the next day window without spending an attempt', async () => {
    const people = Array.from({ length: 5 }, (_, i) => ({ email: `cap${i}@x.test` }));
    const s = await scenario(people, { dailyLimit: 3 });
    await w.worker.drain();
    const sent = () => smtp.mails.filter((m) => m.envelopeTo[0]!.startsWith('cap')).length;
    expect(sent()).toBe(3);
    const { rows } = await t.admin.query(
      `SELECT attempts, run_at FROM outreach.tasks WHERE organisation_id = $1 AND type = 'send_step' AND status = 'pending'`,
      [s.org],
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.attempts).toBe(0);
      expect(r.run_at.toISOString()).toBe('2026-03-04T08:00:00.000Z'); // Wednesday 09:00 Paris
    }
    clock.set('2026-03-04T08:00:00Z');
    await w.worker.drain();
    expect(sent()).toBe(5);
    clock.set(INSIDE);
  });

  it('minimum gap: the next send of the mailbox waits for the gap without spending an attempt', async () => {
    const people = Array.from({ length: 2 }, (_, i) => ({ email: `gap${i}@x.test` }));
    const s = await scenario(people);
    await t.admin.query('UPDATE outreach.mailboxes SET min_gap_seconds = 600 WHERE id = $1', [s.mailboxId]);
    await w.worker.drain();
    const sent = () => smtp.mails.filter((m) => m.envelopeTo[0]!.startsWith('gap')).length;
    expect(sent()).toBe(1);
    const { rows } = await t.admin.query(
      `SELECT attempts, run_at, last_error FROM outreach.tasks WHERE organisation_id = $1 AND type = 'send_step' AND status = 'pending'`,
      [s.org],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].attempts).toBe(0);
    expect(rows[0].run_at.toISOString()).toBe(new Date(clock.now().getTime() + 600_000).toISOString());
    expect(rows[0].last_error).toMatch(/minimum gap/);
    clock.set(new Date(clock.now().getTime() + 600_000).toISOString());
    await w.worker.drain();
    expect(sent()).toBe(2);
    clock.set(INSIDE);
  });

  it('minimum gap: a 4xx resend waits for the gap after another message of the mailbox went out', async () => {
    const people = [{ email: 'regap0@x.test' }, { email: 'regap1@x.test' }];
    const s = await scenario(people);
    await t.admin.query('UPDATE outreach.mailboxes SET min_gap_seconds = 600 WHERE id = $1', [s.mailboxId]);
    // The first message to reach RCPT is deferred (whichever the worker reserves first).
    const deferredTo = deferFirstOf('regap');
    const mails = () => smtp.mails.filter((m) => m.envelopeTo[0]!.startsWith('regap'));
    const tasks = () => sendTasks(s.org);

    // 10:00 Paris: one reserved and deferred (an attempt spent), the other waits for the gap.
    await w.worker.drain();
    expect(mails()).toHaveLength(0);
    const deferred = deferredTo();
    const retry = (await tasks()).find((r) => r.email === deferred)!;
    const other = (await tasks()).find((r) => r.email !== deferred)!;
    expect(retry).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.stringMatching(/451/) });
    expect(other).toMatchObject({ status: 'pending', attempts: 0, last_error: expect.stringMatching(/gap/) });
    expect(other.run_at.toISOString()).toBe(at(600));

    // The deferral ends; the retry comes due 10 s after the other message is sent at 10:10:00.
    smtp.setRcpt(defaultRcpt);
    await t.admin.query('UPDATE outreach.tasks SET run_at = $2 WHERE enrollment_id = $1 AND type = $3', [
      retry.id,
      at(610),
      'send_step',
    ]);
    clock.set(at(600));
    await w.worker.drain();
    expect(mails().map((m) => m.envelopeTo[0])).toEqual([other.email]);
    clock.set(at(610));
    await w.worker.drain();
    // Not 10 s after the other send: the resend waits for the gap, without spending an attempt.
    expect(mails()).toHaveLength(1);
    const waiting = (await tasks()).find((r) => r.id === retry.id)!;
    expect(waiting).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: expect.stringMatching(/gap/),
    });
    expect(waiting.run_at.toISOString()).toBe(at(1200));

    // 10:20:00: sent again under the Message-ID its reservation got; its own reservation holds nothing.
    clock.set(at(1200));
    await w.worker.drain();
    expect(mails().map((m) => m.envelopeTo[0])).toEqual([other.email, deferred]);
    const reserved = await t.admin.query(
      `SELECT message_id_header, status FROM outreach.messages WHERE enrollment_id = $1`,
      [retry.id],
    );
    expect(reserved.rows[0].status).toBe('sent');
    expect(mails()[1]!.parsed.messageId).toBe(reserved.rows[0].message_id_header);
    clock.set(INSIDE);
  });

  it("a resend's own reservation holds it back by neither the cap nor the gap", async () => {
    const s = await scenario([{ email: 'busy-own@x.test' }], { dailyLimit: 1 });
    await t.admin.query('UPDATE outreach.mailboxes SET min_gap_seconds = 600 WHERE id = $1', [s.mailboxId]);
    await w.worker.drain();
    expect((await sendTasks(s.org))[0]).toMatchObject({ status: 'pending', attempts: 1 });
    // 60 s later the deferral is over: the day's only reservation, 60 s old, is its own.
    smtp.setRcpt(() => undefined);
    clock.set(at(60));
    await w.worker.drain();
    smtp.setRcpt(defaultRcpt);
    expect(smtp.mails.filter((m) => m.envelopeTo[0] === 'busy-own@x.test')).toHaveLength(1);
    expect((await sendTasks(s.org))[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
    clock.set(INSIDE);
  });

  it("a resend on a later day than its reservation waits while that day's cap is reached", async () => {
    const s = await scenario([{ email: 'late0@x.test' }, { email: 'late1@x.test' }], { dailyLimit: 1 });
    const deferredTo = deferFirstOf('late');
    const mails = () => smtp.mails.filter((m) => m.envelopeTo[0]!.startsWith('late'));
    // Tuesday 10:00 Paris: one reserved (the day's 1) and deferred, the other waits for Wednesday.
    await w.worker.drain();
    const deferred = deferredTo();
    const retry = (await sendTasks(s.org)).find((r) => r.email === deferred)!;
    const other = (await sendTasks(s.org)).find((r) => r.email !== deferred)!;
    expect(retry).toMatchObject({ status: 'pending', attempts: 1 });
    expect(other.run_at.toISOString()).toBe('2026-03-04T08:00:00.000Z');
    // The retry comes due Wednesday 10:00, after the other message took Wednesday's one send.
    smtp.setRcpt(defaultRcpt);
    await t.admin.query(
      `UPDATE outreach.tasks SET run_at = $2 WHERE enrollment_id = $1 AND type = 'send_step'`,
      [retry.id, '2026-03-04T09:00:00Z'],
    );
    clock.set('2026-03-04T08:00:00Z');
    await w.worker.drain();
    expect(mails().map((m) => m.envelopeTo[0])).toEqual([other.email]);
    clock.set('2026-03-04T09:00:00Z');
    await w.worker.drain();
    expect(mails()).toHaveLength(1);
    const waiting = (await sendTasks(s.org)).find((r) => r.id === retry.id)!;
    expect(waiting).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: expect.stringMatching(/cap/),
    });
    expect(waiting.run_at.toISOString()).toBe('2026-03-05T08:00:00.000Z');
    clock.set('2026-03-05T08:00:00Z');
    await w.worker.drain();
    expect(mails().map((m) => m.envelopeTo[0])).toEqual([other.email, deferred]);
    clock.set(INSIDE);
  });

  it('window snooze across a time-zone boundary and a DST change lands at 09:00 local', async () => {
    // Friday 6 March 2026, 17:30 in New York (EST, UTC-5): after the window closes.
    clock.set('2026-03-06T22:30:00Z');
    const s = await scenario([{ email: 'ny@x.test' }], { timeZone: 'America/New_York' });
    // The schedule task puts step 1 at Monday 9 March 09:00 New York — EDT (UTC-4) since Sunday.
    await w.worker.drain();
    let tk = await task(s.enrollments[0]!);
    expect(tk.run_at.toISOString()).toBe('2026-03-09T13:00:00.000Z');
    // Force the send task due while still outside the window: the worker snoozes it, attempts unchanged.
    await t.admin.query(
      `UPDATE outreach.tasks SET run_at = $2 WHERE enrollment_id = $1 AND type = 'send_step'`,
      [s.enrollments[0], clock.now()],
    );
    await w.worker.drain();
    tk = await task(s.enrollments[0]!);
    expect(tk).toMatchObject({ status: 'pending', attempts: 0 });
    expect(tk.run_at.toISOString()).toBe('2026-03-09T13:00:00.000Z');
    expect(smtp.mails.some((m) => m.envelopeTo[0] === 'ny@x.test')).toBe(false);
    clock.set('2026-03-09T13:00:00Z');
    await w.worker.drain();
    expect(smtp.mails.some((m) => m.envelopeTo[0] === 'ny@x.test')).toBe(true);
    clock.set(INSIDE);
  });

  it('a missing template value fails the task with a clear error and sends nothing', async () => {
    const s = await scenario([{ email: 'nameless@x.test', firstName: null }]);
    await w.worker.drain();
    const tk = await task(s.enrollments[0]!);
    expect(tk.status).toBe('failed');
    expect(tk.last_error).toContain('missing values for template variables: person.first_name');
    expect(smtp.mails.some((m) => m.envelopeTo[0] === 'nameless@x.test')).toBe(false);
    const msgs = await t.admin.query(
      'SELECT count(*)::int AS n FROM outreach.messages WHERE enrollment_id = $1',
      [s.enrollments[0]],
    );
    expect(msgs.rows[0].n).toBe(0);
  });

  it('re-activation schedules a replied enrollment only with a next step that does not exit on reply', async () => {
    const steps = (exitOnReply: boolean) => [
      { delayDays: 0, subject: 'Hello', body: 'Step 1' },
      { delayDays: 1, subject: 'Step 2', body: 'Step 2', exitOnReply },
    ];
    const goesOn = await scenario([{ email: 'goes-on@x.test' }], {}, steps(false));
    const ends = await scenario([{ email: 'ends@x.test' }], {}, steps(true));
    clock.set(INSIDE);
    await w.worker.drain();
    const sentTo = (address: string) => smtp.mails.filter((m) => m.envelopeTo.includes(address)).length;
    expect([sentTo('goes-on@x.test'), sentTo('ends@x.test')]).toEqual([1, 1]);
    // A reply, then the campaign paused (its queued sends cancelled) and activated again.
    for (const s of [goesOn, ends]) {
      await t.admin.query(`UPDATE outreach.campaign_enrollments SET status = 'replied' WHERE id = $1`, [
        s.enrollments[0],
      ]);
      await t.admin.query(
        `UPDATE outreach.tasks SET status = 'cancelled' WHERE enrollment_id = $1 AND status = 'pending'`,
        [s.enrollments[0]],
      );
      await t.admin.query(
        `INSERT INTO outreach.tasks (organisation_id, type, run_at, enrollment_id, priority, dedupe_key)
         VALUES ($1, 'schedule_enrollment', $2, $3, 10, $4)`,
        [s.org, clock.now(), s.enrollments[0], `schedule:${s.enrollments[0]}`],
      );
    }
    await w.worker.drain();
    clock.set('2026-03-04T09:00:00Z');
    await w.worker.drain();
    expect([sentTo('goes-on@x.test'), sentTo('ends@x.test')]).toEqual([2, 1]);
    const { rows } = await t.admin.query(
      'SELECT status FROM outreach.campaign_enrollments WHERE id = ANY ($1::uuid[]) ORDER BY id = $2 DESC',
      [[goesOn.enrollments[0], ends.enrollments[0]], goesOn.enrollments[0]],
    );
    expect(rows.map((r) => r.status)).toEqual(['replied', 'replied']);
  });

  it('enqueueing the same enrollment step twice leaves one pending task', async () => {
    clock.set('2026-03-03T06:00:00Z');
    const s = await scenario([{ email: 'twice@x.test' }]);
    await t.admin.query(
      `INSERT INTO outreach.tasks (organisation_id, type, run_at, enrollment_id, priority, dedupe_key)
       VALUES ($1, 'schedule_enrollment', $2, $3, 10, $4)`,
      [s.org, clock.now(), s.enrollments[0], `again:${s.enrollments[0]}`],
    );
    await w.worker.drain();
    const { rows } = await t.admin.query(
      `SELECT count(*)::int AS n FROM outreach.tasks WHERE enrollment_id = $1 AND type = 'send_step' AND status = 'pending'`,
      [s.enrollments[0]],
    );
    expect(rows[0].n).toBe(1);
    clock.set(INSIDE);
    await w.worker.drain();
  });
  it('logs no recipient address: the hard bounce line gives ids, and SMTP answers that echo the address are masked', async () => {
    const written: string[] = [];
    const log = createLogger(
      'info',
      'worker',
      new Writable({
        write(chunk, _encoding, done) {
          written.push(String(chunk));
          done();
        },
      }),
    );
    const logged = testWorker(t.workerUrl, smtp.url, clock, { log });
    // What Postfix answers: the recipient's address in the refusal.
    smtp.setRcpt((address) =>
      address.startsWith('echo-gone')
        ? { code: 550, message: `5.1.1 <${address}>: Recipient address rejected: User unknown` }
        : address.startsWith('echo-busy')
          ? { code: 451, message: `4.7.1 <${address}>: Recipient address rejected: try again later` }
          : undefined,
    );
    try {
      const gone = await scenario([{ email: 'echo-gone.zoe@x.test' }]);
      const busy = await scenario([{ email: 'echo-busy.zoe@x.test' }]);
      await logged.worker.drain();
      const lines = written.map((line) => JSON.parse(line) as Record<string, unknown>);
      const bounce = lines.find((l) => l.msg === 'hard bounce: recipient suppressed');
      expect(bounce).toMatchObject({
        enrollmentId: gone.enrollments[0],
        detail: expect.stringMatching(/550/),
      });
      expect(bounce).not.toHaveProperty('to');
      expect(lines.some((l) => l.msg === 'task will be retried')).toBe(true);
      expect(written.join('\n')).not.toMatch(/echo-(gone|busy)|zoe@/);
      // Masked inside a JSON line, after an escape too, the line stays JSON.
      const line = JSON.stringify({ m: 'a\nzoe@x.fr b\u0001zoe@x.fr c\\zoe@x.fr' });
      expect(JSON.parse(withoutAddresses(line))).toEqual({ m: 'a\n[address] b\u0001[address] c\\[address]' });
      // The database keeps the answer as the server gave it (erased with the message).
      const stored = await t.admin.query('SELECT error FROM outreach.messages WHERE enrollment_id = $1', [
        gone.enrollments[0],
      ]);
      expect(stored.rows[0].error).toContain('<echo-gone.zoe@x.test>');
      expect((await task(busy.enrollments[0]!)).status).toBe('pending');
    } finally {
      await logged.close();
    }
  });
});

describe('SMTP authentication failure', () => {
  let t: TestDb;
  let smtp: SmtpSink;
  let w: TestWorker;
  const clock = new ManualClock(INSIDE);

  beforeAll(async () => {
    t = await openTestDb('eauth');
    smtp = await startSmtpSink({ auth: { user: 'relay', pass: 'right-password' } });
    w = testWorker(t.workerUrl, smtp.url, clock);
  });
  afterAll(async () => {
    await w?.close();
    await smtp?.close();
    await t?.close();
  });

  it('puts the mailbox in error and hands the task back without spending an attempt', async () => {
    const org = await createOrg(t.admin, 'eauth');
    const mailbox = await createMailbox(t.admin, org, { address: 'sales@eauth.test' });
    const campaign = await createCampaign(t.admin, org, mailbox, [
      { delayDays: 0, subject: 'Hi', body: 'Hello {{person.first_name}}' },
    ]);
    const [enrollment] = await enroll(
      t.admin,
      org,
      campaign.id,
      await createPositions(t.admin, org, [{ email: 'a@x.test' }]),
      clock.now(),
    );
    await w.worker.drain();
    const mb = await t.admin.query(
      'SELECT status, paused_reason, last_error_code FROM outreach.mailboxes WHERE id = $1',
      [mailbox],
    );
    expect(mb.rows[0]).toMatchObject({ status: 'error', last_error_code: 'smtp:auth' });
    expect(mb.rows[0].paused_reason).toMatch(/authentication/i);
    const { rows } = await t.admin.query(
      `SELECT status, attempts, run_at FROM outreach.tasks WHERE enrollment_id = $1 AND type = 'send_step'`,
      [enrollment],
    );
    expect(rows[0]).toMatchObject({ status: 'pending', attempts: 0 });
    expect(rows[0].run_at.getTime()).toBeGreaterThan(clock.now().getTime());
    expect(smtp.mails).toHaveLength(0);
  });
});
