import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordOpen } from '../../src/outreach/public-events.js';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { sentFirstStep } from '../helpers/fixtures.js';
import { signedInbound } from '../helpers/inbound.js';

// The campaign's daily counters move once per message or enrollment, whatever the timing: a
// reply after the sequence's last step counts, simultaneous first opens count one, and a one-click
// unsubscribe counts in either form RFC 8058 allows.
const SECRET = 'event-counters-secret';
let t: TestApp;
let user: TestUser;
let seq = 0;

beforeAll(async () => {
  t = await buildTestApp({ label: 'event-counters', env: { INBOUND_WEBHOOK_SECRET: SECRET } });
  user = await t.signUp('owner@event-counters.test');
});
afterAll(async () => {
  await t?.close();
});

/** A one-step campaign whose step went to `email` (its own mailbox): its message with a pixel, and enrollment. */
async function sentOnce(email: string) {
  seq += 1;
  const header = `<counters-${seq}@counters.test>`;
  const sent = await sentFirstStep(t, user, { address: `sales${seq}@counters.test`, email, header });
  const pixel = `pixel${seq}AAAAAAAAAAAAAAAAAAAAAA`;
  await t.admin.query(
    `INSERT INTO tracking.pixels (organisation_id, message_id, token)
     SELECT organisation_id, id, $2 FROM outreach.messages WHERE message_id_header = $1`,
    [header, pixel],
  );
  return {
    campaign: sent.campaignId,
    enrollment: sent.enrollment,
    header,
    pixel,
    unsub: sent.unsubscribeToken,
  };
}

const totals = async (campaign: string) =>
  (await t.request(user, { method: 'GET', url: `/v1/campaigns/${campaign}/stats` })).json().totals;
const status = async (enrollment: string) =>
  (await t.admin.query('SELECT status FROM outreach.campaign_enrollments WHERE id = $1', [enrollment]))
    .rows[0].status;

describe('campaign counters', () => {
  it('a reply after the last step (enrollment completed) or to a paused enrollment is counted once', async () => {
    for (const [email, before] of [
      ['done@p.test', 'completed'],
      ['held@p.test', 'paused'],
    ] as const) {
      const sent = await sentOnce(email);
      // What app.record_sent leaves after the last step (or a person pausing the enrollment).
      await t.admin.query(
        `UPDATE outreach.campaign_enrollments SET status = $2, current_step_order = 1, completed_at = now() WHERE id = $1`,
        [sent.enrollment, before],
      );
      const reply = { messageId: `<re-${email}>`, inReplyTo: sent.header, from: email, text: 'Interested' };
      const res = await t.app.inject(signedInbound(reply, SECRET));
      expect(res.json()).toMatchObject({ matched: true, kind: 'reply', enrollmentId: sent.enrollment });
      expect(await status(sent.enrollment)).toBe('replied');
      // Another reply from the same person is one more message, not one more replied enrollment.
      await t.app.inject(signedInbound({ ...reply, messageId: `<re2-${email}>` }, SECRET));
      expect((await totals(sent.campaign)).replied).toBe(1);
    }
  });

  it('simultaneous first opens of one message count one open', async () => {
    const sent = await sentOnce('opens@p.test');
    // Its own pool, so the opens really run side by side (a mail client and its preview fetching).
    const pool = new pg.Pool({ connectionString: t.env.DATABASE_URL, max: 8 });
    try {
      await Promise.all(Array.from({ length: 8 }, () => pool.query('SELECT 1')));
      for (const agent of ['Mozilla/5.0 (Macintosh)', 'GoogleImageProxy']) {
        const recorded = await Promise.all(
          Array.from({ length: 8 }, () => recordOpen(pool, sent.pixel, agent)),
        );
        expect(recorded).toEqual(Array(8).fill(true));
      }
    } finally {
      await pool.end();
    }
    expect(await totals(sent.campaign)).toMatchObject({ opened: 1, machineOpened: 1 });
    const stats = await t.admin.query(
      `SELECT s.open_count, s.machine_open_count FROM tracking.message_open_stats s
       JOIN tracking.pixels p ON p.organisation_id = s.organisation_id AND p.message_id = s.message_id WHERE p.token = $1`,
      [sent.pixel],
    );
    expect(stats.rows).toEqual([{ open_count: 8, machine_open_count: 8 }]);
  });

  it('a one-click POST sent as multipart/form-data (RFC 8058: SHOULD) unsubscribes like a urlencoded one', async () => {
    const sent = await sentOnce('multipart@p.test');
    const boundary = 'one-click-boundary';
    const res = await t.app.inject({
      method: 'POST',
      url: `/u/${sent.unsub}`,
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(res.statusCode).toBe(200);
    expect(await status(sent.enrollment)).toBe('unsubscribed');
    const suppression = await t.admin.query(
      `SELECT reason FROM outreach.suppressions WHERE organisation_id = $1 AND email = 'multipart@p.test'`,
      [user.organisationId],
    );
    expect(suppression.rows).toEqual([{ reason: 'unsubscribed' }]);
    expect((await totals(sent.campaign)).unsubscribed).toBe(1);
  });

  it('a HEAD of the pixel (no image fetched) records no open; the GET after it does', async () => {
    const sent = await sentOnce('head@p.test');
    const agent = (n: number) => ({ 'user-agent': `Mozilla/5.0 (Windows NT 10.0; Win64; x64) probe/${n}` });
    const head = await t.app.inject({ method: 'HEAD', url: `/t/${sent.pixel}.gif`, headers: agent(1) });
    expect(head.statusCode).toBe(200);
    await t.app.inject({ method: 'GET', url: `/t/${sent.pixel}.gif`, headers: agent(2) });
    // Opens are recorded after the answer, each in the order of its request: once the GET's is
    // there, a HEAD's would be too.
    const agents = async () =>
      (
        await t.admin.query(
          `SELECT o.user_agent FROM tracking.open_events o
           JOIN tracking.pixels p ON p.organisation_id = o.organisation_id AND p.message_id = o.message_id
           WHERE p.token = $1 ORDER BY o.user_agent`,
          [sent.pixel],
        )
      ).rows.map((r) => r.user_agent.slice(-7));
    for (let i = 0; i < 200 && !(await agents()).includes('probe/2'); i++)
      await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 200));
    expect(await agents()).toEqual(['probe/2']);
    expect((await totals(sent.campaign)).opened).toBe(1);
  });
});
