import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RESERVE_OUTBOUND_MESSAGE,
  type ReserveArgs,
  type ReserveResult,
} from '../src/outreach/send/statements.js';
import {
  createCampaign,
  createMailbox,
  createOrg,
  createPositions,
  enroll,
  openTestDb,
  type TestDb,
} from './support/db.js';

// Migration 0970: the reservation reads the mailbox's count of the day from
// outreach.mailbox_day_counts (created by counting on the day's first reservation, kept by triggers
// on outreach.messages) instead of counting the day's messages each time. Checked against what the
// count would say, through the worker's role under RLS: several workers at once, a reservation
// given up (failed), a bounce, a retry of the same step, day boundaries, messages written outside
// a reservation, and the minimum gap across midnight.
describe('daily cap from the mailbox day counts (migration 0970)', { timeout: 60_000 }, () => {
  let t: TestDb;
  let worker: pg.Pool;
  let n = 0;
  const DAY = Date.parse('2026-03-03T00:00:00Z');
  const at = (h: number) => new Date(DAY + h * 3600_000);
  const bounds = (day: number) => ({
    day_start: new Date(DAY + day * 86_400_000),
    day_end: new Date(DAY + (day + 1) * 86_400_000),
  });

  async function scenario(people: number, dailyLimit: number) {
    n += 1;
    const org = await createOrg(t.admin, `daycount-${n}`);
    const address = `sales@daycount${n}.test`;
    const mailbox = await createMailbox(t.admin, org, { address, dailyLimit, timeZone: 'UTC' });
    const campaign = await createCampaign(t.admin, org, mailbox, [
      { delayDays: 0, subject: 'Hi', body: 'Hello' },
    ]);
    const positions = await createPositions(
      t.admin,
      org,
      Array.from({ length: people }, (_, i) => ({ email: `p${i}@daycount${n}-prospects.test` })),
    );
    const enrollments = await enroll(t.admin, org, campaign.id, positions, at(0));
    return { org, mailbox, address, step: campaign.steps[0]!.id, enrollments };
  }
  type Scenario = Awaited<ReturnType<typeof scenario>>;

  /** One reservation as the worker sends it: its own implicit transaction under the organisation. */
  async function reserve(
    s: Scenario,
    enrollment: string,
    now: Date,
    day: number | { day_start: Date; day_end: Date } = 0,
  ): Promise<ReserveResult> {
    const args: ReserveArgs = {
      enrollment,
      step: s.step,
      variant: null,
      mailbox: s.mailbox,
      message_id_header: `<${randomBytes(8).toString('hex')}@daycount.test>`,
      in_reply_to: null,
      references: [],
      from: s.address,
      to: `x-${enrollment.slice(0, 8)}@daycount-prospects.test`,
      subject: 'Hi',
      body_text: 'Hello',
      body_html: '<div>Hello</div>',
      unsubscribe_token: randomBytes(16).toString('base64url'),
      now,
      pixel_token: null,
      ...(typeof day === 'number' ? bounds(day) : day),
      exit_on_reply: true,
      store_assignment: false,
    };
    const c = await worker.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SELECT set_config('app.organisation_id', $1, true)`, [s.org]);
      const { rows } = await c.query<ReserveResult>(
        RESERVE_OUTBOUND_MESSAGE.sql,
        RESERVE_OUTBOUND_MESSAGE.values(args),
      );
      await c.query('COMMIT');
      return rows[0]!;
    } catch (error) {
      await c.query('ROLLBACK');
      throw error;
    } finally {
      c.release();
    }
  }

  /** As the worker: a statement under the organisation. */
  async function asWorker(org: string, sql: string, values: unknown[]) {
    const c = await worker.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SELECT set_config('app.organisation_id', $1, true)`, [org]);
      const r = await c.query(sql, values);
      await c.query('COMMIT');
      return r;
    } finally {
      c.release();
    }
  }

  /** The stored count of the mailbox's day vs the count 0730 made of the messages. */
  async function counts(s: Scenario, day = 0) {
    const { day_start, day_end } = bounds(day);
    const stored = await t.admin.query(
      `SELECT reserved FROM outreach.mailbox_day_counts WHERE mailbox_id = $1 AND day_start = $2 AND day_end = $3`,
      [s.mailbox, day_start, day_end],
    );
    const counted = await t.admin.query(
      `SELECT count(*)::int AS n FROM outreach.messages WHERE mailbox_id = $1 AND direction = 'outbound'
         AND status IN ('queued', 'sent', 'bounced') AND created_at >= $2 AND created_at < $3`,
      [s.mailbox, day_start, day_end],
    );
    return { stored: stored.rows[0]?.reserved ?? null, counted: counted.rows[0].n as number };
  }

  beforeAll(async () => {
    t = await openTestDb('send-day-counts');
    worker = new pg.Pool({ connectionString: t.workerUrl, max: 12 });
  });
  afterAll(async () => {
    await worker?.end();
    await t?.close();
  });

  it('several workers reserving at once never pass the cap', async () => {
    const s = await scenario(24, 7);
    // 12 connections, each its own transaction, all on the same mailbox at the same moment.
    const results = await Promise.all(s.enrollments.map((e, i) => reserve(s, e, at(10 + i / 3600))));
    const reserved = results.filter((r) => r.message_row_id);
    expect(reserved).toHaveLength(7);
    // Every refusal saw the cap reached.
    for (const r of results.filter((r) => !r.message_row_id)) expect(r.n).toBe(7);
    expect(await counts(s)).toEqual({ stored: 7, counted: 7 });
  });

  it('a reservation given up (failed) frees its place; a bounce does not; a retry of the step is not counted twice', async () => {
    const s = await scenario(5, 3);
    const first = [await reserve(s, s.enrollments[0]!, at(9))];
    // The step reserved again (a retry): ON CONFLICT reserves nothing and counts nothing.
    const retry = await reserve(s, s.enrollments[0]!, at(9.5));
    expect(retry.message_row_id).toBeNull();
    expect(retry.n).toBe(1);
    expect(await counts(s)).toEqual({ stored: 1, counted: 1 });
    first.push(...(await Promise.all(s.enrollments.slice(1, 3).map((e) => reserve(s, e, at(9.6))))));
    expect(first.every((r) => r.message_row_id)).toBe(true);
    expect(await counts(s)).toEqual({ stored: 3, counted: 3 });
    expect((await reserve(s, s.enrollments[3]!, at(10))).message_row_id).toBeNull();
    // Hard bounce after SMTP: still counted (it went out).
    await asWorker(s.org, `UPDATE outreach.messages SET status = 'bounced', sent_at = $2 WHERE id = $1`, [
      first[0]!.message_row_id,
      at(10),
    ]);
    expect(await counts(s)).toEqual({ stored: 3, counted: 3 });
    expect((await reserve(s, s.enrollments[3]!, at(10))).message_row_id).toBeNull();
    // Given up (as giveUp does): the place is free again.
    await asWorker(
      s.org,
      `UPDATE outreach.messages SET status = 'failed', error = 'x' WHERE id = $1 AND status = 'queued'`,
      [first[1]!.message_row_id],
    );
    expect(await counts(s)).toEqual({ stored: 2, counted: 2 });
    const again = await reserve(s, s.enrollments[3]!, at(11));
    expect(again.message_row_id).not.toBeNull();
    expect(again.n).toBe(2);
    expect(await counts(s)).toEqual({ stored: 3, counted: 3 });
    expect((await reserve(s, s.enrollments[4]!, at(11))).message_row_id).toBeNull();
  });

  it('a new day starts from its own messages; messages written before the day was first reserved are counted', async () => {
    const s = await scenario(6, 3);
    // Two messages of day 1 written directly (as an older worker or a restore would), before any
    // reservation created day 1's row.
    for (const [i, e] of s.enrollments.slice(0, 2).entries())
      await asWorker(
        s.org,
        `INSERT INTO outreach.messages (enrollment_id, step_id, mailbox_id, direction, status, message_id_header, from_address, to_address, subject, body_text, created_at)
         VALUES ($1, $2, $3, 'outbound', 'queued', $4, $5, 'x@y.test', 's', 'b', $6)`,
        [e, s.step, s.mailbox, `<direct${i}@daycount.test>`, s.address, at(24 + 1 + i)],
      );
    // Day 0: its first reservation counts nothing of day 1.
    const d0 = await reserve(s, s.enrollments[2]!, at(20), 0);
    expect(d0.message_row_id).not.toBeNull();
    expect(d0.n).toBe(0);
    // Day 1 (just after midnight): counted from the messages on its first reservation.
    const d1 = await reserve(s, s.enrollments[3]!, at(24 + 5), 1);
    expect(d1.n).toBe(2);
    expect(d1.message_row_id).not.toBeNull();
    expect(await counts(s, 1)).toEqual({ stored: 3, counted: 3 });
    expect((await reserve(s, s.enrollments[4]!, at(24 + 6), 1)).message_row_id).toBeNull();
    expect(await counts(s, 0)).toEqual({ stored: 1, counted: 1 });
    // Another time zone's day (bounds shifted by 5 h) is counted on its own, from the messages.
    const shifted = {
      day_start: new Date(bounds(1).day_start.getTime() + 5 * 3600_000),
      day_end: new Date(bounds(1).day_end.getTime() + 5 * 3600_000),
    };
    const other = await reserve(s, s.enrollments[5]!, at(24 + 7), shifted);
    // Day 1's messages at 01:00 and 02:00 fall before the shifted day; the one at 05:00 in it.
    expect(other.n).toBe(1);
    expect(other.message_row_id).not.toBeNull();
    // Both rows covering the new message counted it.
    expect(await counts(s, 1)).toEqual({ stored: 4, counted: 4 });
  });

  it('the minimum gap holds across midnight', async () => {
    const s = await scenario(2, 10);
    await t.admin.query('UPDATE outreach.mailboxes SET min_gap_seconds = 600 WHERE id = $1', [s.mailbox]);
    const late = await reserve(s, s.enrollments[0]!, at(23.95), 0);
    expect(late.message_row_id).not.toBeNull();
    // 00:03 the next day: 6 minutes after the last send, within the 10-minute gap.
    const early = await reserve(s, s.enrollments[1]!, at(24.05), 1);
    expect(early.message_row_id).toBeNull();
    expect(early.n).toBe(0);
    expect(early.last?.toISOString()).toBe(at(23.95).toISOString());
    const later = await reserve(s, s.enrollments[1]!, at(24.2), 1);
    expect(later.message_row_id).not.toBeNull();
  });

  it('the counts are the organisation’s own (RLS)', async () => {
    const a = await scenario(1, 5);
    const b = await scenario(1, 5);
    await reserve(a, a.enrollments[0]!, at(9));
    await reserve(b, b.enrollments[0]!, at(9));
    const { rows } = await asWorker(a.org, 'SELECT mailbox_id FROM outreach.mailbox_day_counts', []);
    expect(rows.map((r) => r.mailbox_id)).toEqual([a.mailbox]);
  });
});
