import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTenant } from '../src/queue/sql.js';
import {
  type CampaignSeed,
  createCampaign,
  createMailbox,
  createOrg,
  createPositions,
  enroll,
  openTestDb,
  type TestDb,
} from './support/db.js';

describe('a campaign sending from several mailboxes (migration 0900)', () => {
  let t: TestDb;
  let worker: pg.Pool;
  let org: string;
  let campaign: CampaignSeed;
  const box: Record<string, string> = {};

  /** What the send path reads first: the enrollment's state, mailbox chosen on the first read. */
  const stateMailbox = async (enrollment: string) =>
    inTenant(worker, org, async (c) => {
      const { rows } = await c.query('SELECT mailbox_id, mailbox FROM app.send_step_state($1, $2, false)', [
        enrollment,
        campaign.steps[0]!.id,
      ]);
      return rows[0] as { mailbox_id: string; mailbox: { id: string; from_address: string } };
    });

  beforeAll(async () => {
    t = await openTestDb('rotation');
    worker = new pg.Pool({ connectionString: t.workerUrl, max: 4 });
    org = await createOrg(t.admin, 'rotation-org');
    box.a = await createMailbox(t.admin, org, { address: 'a@rot-a.test', dailyLimit: 200 });
    box.b = await createMailbox(t.admin, org, { address: 'b@rot-b.test', dailyLimit: 100 });
    box.unverified = await createMailbox(t.admin, org, { address: 'u@rot-u.test', proved: false });
    box.paused = await createMailbox(t.admin, org, { address: 'p@rot-p.test' });
    await t.admin.query(`UPDATE outreach.mailboxes SET status = 'paused' WHERE id = $1`, [box.paused]);
    campaign = await createCampaign(t.admin, org, box.a!, [{ delayDays: 0, subject: 'Hi' }]);
    await t.admin.query(
      `INSERT INTO outreach.campaign_mailboxes (organisation_id, campaign_id, mailbox_id) SELECT $1, $2, unnest($3::uuid[])`,
      [org, campaign.id, [box.b, box.unverified, box.paused]],
    );
  });
  afterAll(async () => {
    await worker?.end();
    await t?.close();
  });

  it('spreads new enrollments over the sendable mailboxes by daily cap, and pins each one', async () => {
    const positions = await createPositions(
      t.admin,
      org,
      Array.from({ length: 30 }, (_, i) => ({ email: `p${i}@prospects.test` })),
    );
    const enrollments = await enroll(t.admin, org, campaign.id, positions, new Date());
    const chosen: string[] = [];
    for (const e of enrollments) {
      const state = await stateMailbox(e);
      expect(state.mailbox.id).toBe(state.mailbox_id);
      chosen.push(state.mailbox_id);
    }
    const count = (id: string) => chosen.filter((c) => c === id).length;
    // Never the unverified or the paused one; a (cap 200) gets twice b's (cap 100) share.
    expect(count(box.unverified!) + count(box.paused!)).toBe(0);
    expect(count(box.a!)).toBe(20);
    expect(count(box.b!)).toBe(10);
    // Sticky: a later read (a follow-up) keeps the mailbox, and it is stored on the enrollment.
    for (const [i, e] of enrollments.entries()) expect((await stateMailbox(e)).mailbox_id).toBe(chosen[i]);
    const stored = await t.admin.query(
      'SELECT count(*)::int AS n FROM outreach.campaign_enrollments WHERE campaign_id = $1 AND mailbox_id IS NOT NULL',
      [campaign.id],
    );
    expect(stored.rows[0].n).toBe(30);
  });

  it('prefers a mailbox with capacity left today', async () => {
    // a has used its whole cap (200 reservations in the last 24 h): new enrollments go to b.
    await t.admin.query(`UPDATE outreach.mailboxes SET daily_limit = 2 WHERE id = $1`, [box.a]);
    const sent = await t.admin.query(
      `SELECT id FROM outreach.campaign_enrollments WHERE mailbox_id = $1 LIMIT 2`,
      [box.a],
    );
    for (const [i, row] of sent.rows.entries())
      await t.admin.query(
        `INSERT INTO outreach.messages (organisation_id, enrollment_id, step_id, mailbox_id, direction, status, message_id_header, from_address, to_address, subject)
         VALUES ($1, $2, $3, $4, 'outbound', 'queued', $5, 'a@rot-a.test', 'x@prospects.test', 'Hi')`,
        [org, row.id, campaign.steps[0]!.id, box.a, `<cap${i}@rot-a.test>`],
      );
    const positions = await createPositions(t.admin, org, [{ email: 'late@prospects.test' }]);
    const [late] = await enroll(t.admin, org, campaign.id, positions, new Date(), 'late');
    expect((await stateMailbox(late!)).mailbox_id).toBe(box.b);
  });

  it('falls back to the campaign mailbox (its status explains the wait) when none can send', async () => {
    const other = await createCampaign(t.admin, org, box.paused!, [{ delayDays: 0, subject: 'Hi' }], {
      name: 'Paused one',
    });
    const positions = await createPositions(t.admin, org, [{ email: 'waiting@prospects.test' }]);
    const [e] = await enroll(t.admin, org, other.id, positions, new Date(), 'waiting');
    const state = await inTenant(
      worker,
      org,
      async (c) =>
        (
          await c.query('SELECT mailbox_id, mailbox FROM app.send_step_state($1, $2, false)', [
            e,
            other.steps[0]!.id,
          ])
        ).rows[0],
    );
    expect(state!.mailbox_id).toBe(box.paused);
    expect(state!.mailbox.status).toBe('paused');
    const pinned = await t.admin.query('SELECT mailbox_id FROM outreach.campaign_enrollments WHERE id = $1', [
      e,
    ]);
    expect(pinned.rows[0].mailbox_id).toBeNull();
  });

  it('refuses a reservation from an unproved sender, whatever the caller checked', async () => {
    const [e] = (await t.admin.query('SELECT id FROM outreach.campaign_enrollments LIMIT 1')).rows;
    const reserve = (mailbox: string, from: string, header: string) =>
      inTenant(worker, org, (c) =>
        c.query(
          `INSERT INTO outreach.messages (enrollment_id, step_id, mailbox_id, direction, status, message_id_header, from_address, to_address, subject)
           VALUES ($1, NULL, $2, 'outbound', 'queued', $3, $4, 'x@prospects.test', 'Hi')`,
          [e.id, mailbox, header, from],
        ),
      );
    await expect(reserve(box.unverified!, 'u@rot-u.test', '<g1@t>')).rejects.toThrow(/sender_not_proved/);
    await expect(reserve(box.b!, 'ceo@bank.test', '<g2@t>')).rejects.toThrow(/sender_not_proved/);
    // Verified once, but the relay domain's proof is gone.
    await t.admin.query(`DELETE FROM outreach.sending_domains WHERE domain = 'rot-b.test'`);
    await expect(reserve(box.b!, 'b@rot-b.test', '<g3@t>')).rejects.toThrow(/sender_not_proved/);
    await expect(reserve(box.a!, 'a@rot-a.test', '<g4@t>')).resolves.toMatchObject({ rowCount: 1 });
  });
});

describe('rotation by the capacity each mailbox has left today (migration 1002)', () => {
  let t: TestDb;
  let worker: pg.Pool;

  beforeAll(async () => {
    t = await openTestDb('rotation-capacity');
    worker = new pg.Pool({ connectionString: t.workerUrl, max: 2 });
  });
  afterAll(async () => {
    await worker?.end();
    await t?.close();
  });

  it('a mailbox another campaign has nearly used up today takes only what it has left', async () => {
    const org = await createOrg(t.admin, 'rotation-capacity');
    const a = await createMailbox(t.admin, org, { address: 'a@cap-a.test', dailyLimit: 10 });
    const b = await createMailbox(t.admin, org, { address: 'b@cap-b.test', dailyLimit: 10 });
    // Campaign Y sends from a only and has used 9 of its 10 sends today.
    const y = await createCampaign(t.admin, org, a, [{ delayDays: 0, subject: 'Y' }], { name: 'Y' });
    const earlier = await enroll(
      t.admin,
      org,
      y.id,
      await createPositions(
        t.admin,
        org,
        Array.from({ length: 9 }, (_, i) => ({ email: `y${i}@prospects.test` })),
      ),
      new Date(),
      'y',
    );
    for (const [i, e] of earlier.entries())
      await t.admin.query(
        `INSERT INTO outreach.messages (organisation_id, enrollment_id, step_id, mailbox_id, direction, status, message_id_header, from_address, to_address, subject, sent_at)
         VALUES ($1, $2, $3, $4, 'outbound', 'sent', $5, 'a@cap-a.test', $6, 'Y', now())`,
        [org, e, y.steps[0]!.id, a, `<y${i}@cap-a.test>`, `y${i}@prospects.test`],
      );
    // Campaign X rotates over a and b: ten new enrollments.
    const x = await createCampaign(t.admin, org, a, [{ delayDays: 0, subject: 'X' }], { name: 'X' });
    await t.admin.query(
      `INSERT INTO outreach.campaign_mailboxes (organisation_id, campaign_id, mailbox_id) VALUES ($1, $2, $3)`,
      [org, x.id, b],
    );
    const enrollments = await enroll(
      t.admin,
      org,
      x.id,
      await createPositions(
        t.admin,
        org,
        Array.from({ length: 10 }, (_, i) => ({ email: `x${i}@prospects.test` })),
      ),
      new Date(),
      'x',
    );
    const chosen: string[] = [];
    for (const e of enrollments)
      chosen.push(
        await inTenant(worker, org, async (c) => {
          const { rows } = await c.query('SELECT mailbox_id FROM app.send_step_state($1, $2, false)', [
            e,
            x.steps[0]!.id,
          ]);
          return (rows[0] as { mailbox_id: string }).mailbox_id;
        }),
      );
    // a has 1 send left today, b 10: a takes at most its one (before: half of them, 5).
    expect(chosen.filter((m) => m === a).length).toBeLessThanOrEqual(1);
    expect(chosen.filter((m) => m === b).length).toBeGreaterThanOrEqual(9);
  });
});
