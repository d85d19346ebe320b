import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { markMailboxVerified } from '../helpers/fixtures.js';
import { signedInbound } from '../helpers/inbound.js';

const SECRET = 'inbound-test-secret';
let t: TestApp;
let user: TestUser;
let other: TestUser;

beforeAll(async () => {
  t = await buildTestApp({
    label: 'outreach',
    env: { INBOUND_WEBHOOK_SECRET: SECRET, PUBLIC_BASE_URL: 'https://pf.example.test' },
  });
  user = await t.signUp('owner@outreach.test');
  other = await t.signUp('owner@elsewhere.test');
});
afterAll(async () => {
  await t?.close();
});

const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, as = user) =>
  t.request(as, { method, url, ...(payload ? { payload } : {}) });

async function seedPositions(org: string, emails: (string | null)[]): Promise<string[]> {
  const company = await t.admin.query(
    `INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Acme') RETURNING id`,
    [org],
  );
  const ids: string[] = [];
  for (const [i, email] of emails.entries()) {
    const person = await t.admin.query(
      `INSERT INTO crm.people (organisation_id, first_name) VALUES ($1, $2) RETURNING id`,
      [org, `P${i}`],
    );
    const position = await t.admin.query(
      `INSERT INTO crm.positions (organisation_id, person_id, company_id, email, title, list_name) VALUES ($1, $2, $3, $4, 'CTO', 'fr-tech') RETURNING id`,
      [org, person.rows[0].id, company.rows[0].id, email],
    );
    ids.push(position.rows[0].id);
  }
  return ids;
}

const signed = (body: object, secret = SECRET) => signedInbound(body, secret);

const STEPS = [
  {
    delayDays: 0,
    variants: [
      { label: 'A', weight: 3, subject: 'Hi {{person.first_name}}', body: 'A for {{company.name}}' },
      { label: 'B', weight: 1, subject: 'Hello {{person.first_name}}', body: 'B for {{company.name}}' },
    ],
  },
  { delayDays: 2, subject: null, body: 'Following up, {{person.first_name}}' },
  { delayDays: 3, subject: 'Last note', body: 'Bye {{person.first_name | "there"}}' },
];

describe('mailboxes and campaigns', () => {
  let mailboxId: string;
  let campaignId: string;
  let positions: string[];

  it('creates, reads, updates and lists mailboxes; rejects an unknown time zone', async () => {
    const created = await call('POST', '/v1/mailboxes', {
      fromName: 'Sales',
      fromAddress: 'sales@acme.test',
      timeZone: 'America/New_York',
      dailyLimit: 80,
    });
    expect(created.statusCode).toBe(201);
    mailboxId = created.json().id;
    await markMailboxVerified(t.admin, mailboxId);
    expect(created.json()).toMatchObject({
      windowStart: '09:00',
      windowEnd: '17:00',
      windowDays: [1, 2, 3, 4, 5],
      status: 'active',
      dailyLimit: 80,
    });
    const patched = await call('PATCH', `/v1/mailboxes/${mailboxId}`, {
      windowStart: '08:30',
      status: 'paused',
    });
    expect(patched.json()).toMatchObject({ windowStart: '08:30', status: 'paused' });
    expect((await call('GET', '/v1/mailboxes')).json().items).toHaveLength(1);
    expect((await call('GET', '/v1/mailboxes', undefined, other)).json().items).toHaveLength(0);
    expect((await call('GET', `/v1/mailboxes/${mailboxId}`, undefined, other)).statusCode).toBe(404);
    const bad = await call('POST', '/v1/mailboxes', {
      fromName: 'X',
      fromAddress: 'x@acme.test',
      timeZone: 'Mars/Olympus',
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().code).toBe('invalid_time_zone');
    await call('PATCH', `/v1/mailboxes/${mailboxId}`, { status: 'active' });
  });

  it('rejects unknown template variables at save, naming the field', async () => {
    const res = await call('POST', '/v1/campaigns', {
      name: 'Bad',
      steps: [{ delayDays: 0, subject: 'Hi {{person.age}}', body: 'x' }],
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'invalid_campaign_steps',
      errors: [{ field: 'steps[0].subject', code: 'unknown_template_variables' }],
    });
  });

  it('creates a campaign with ordered steps and weighted variants; activation needs a mailbox', async () => {
    const res = await call('POST', '/v1/campaigns', { name: 'Q3 outreach', steps: STEPS });
    expect(res.statusCode).toBe(201);
    const campaign = res.json();
    campaignId = campaign.id;
    expect(campaign.status).toBe('draft');
    expect(campaign.steps.map((s: { order: number; delayDays: number }) => [s.order, s.delayDays])).toEqual([
      [1, 0],
      [2, 2],
      [3, 3],
    ]);
    expect(
      campaign.steps[0].experiment.variants.map((v: { label: string; weight: number }) => [
        v.label,
        v.weight,
      ]),
    ).toEqual([
      ['A', 3],
      ['B', 1],
    ]);
    const noMailbox = await call('POST', `/v1/campaigns/${campaignId}/activate`);
    expect(noMailbox.statusCode).toBe(422);
    expect(noMailbox.json().code).toBe('campaign_has_no_mailbox');
    expect((await call('PATCH', `/v1/campaigns/${campaignId}`, { mailboxId })).statusCode).toBe(200);
  });

  it('enrolls positions, skipping suppressed, duplicate, enrolled-elsewhere and unknown ones with reasons', async () => {
    positions = await seedPositions(user.organisationId, [
      'a@p.test',
      'b@p.test',
      'optout@p.test',
      'busy@p.test',
      null,
    ]);
    await t.admin.query(
      `INSERT INTO outreach.suppressions (organisation_id, email, reason) VALUES ($1, 'optout@p.test', 'unsubscribed')`,
      [user.organisationId],
    );
    const elsewhere = await call('POST', '/v1/campaigns', {
      name: 'Other',
      steps: [{ delayDays: 0, subject: 'S', body: 'B' }],
    });
    await call('POST', `/v1/campaigns/${elsewhere.json().id}/enrollments`, { positionIds: [positions[3]] });
    const first = await call('POST', `/v1/campaigns/${campaignId}/enrollments`, {
      positionIds: [positions[0], positions[2], positions[3], positions[4]],
    });
    expect(first.statusCode).toBe(200);
    const reasons = Object.fromEntries(
      first.json().skipped.map((s: { positionId: string; reason: string }) => [s.positionId, s.reason]),
    );
    expect(reasons).toEqual({
      [positions[2]!]: 'suppressed',
      [positions[3]!]: 'enrolled_elsewhere',
      [positions[4]!]: 'no_email',
    });
    expect(first.json().enrolled.map((e: { positionId: string }) => e.positionId)).toEqual([positions[0]]);
    const second = await call('POST', `/v1/campaigns/${campaignId}/enrollments`, {
      filter: { listName: 'fr-tech' },
      allowEnrolledElsewhere: true,
    });
    const again = Object.fromEntries(
      second.json().skipped.map((s: { positionId: string; reason: string }) => [s.positionId, s.reason]),
    );
    expect(again[positions[0]!]).toBe('duplicate');
    expect(
      second
        .json()
        .enrolled.map((e: { positionId: string }) => e.positionId)
        .sort(),
    ).toEqual([positions[1], positions[3]].sort());
    const unknown = await call('POST', `/v1/campaigns/${campaignId}/enrollments`, {
      positionIds: ['00000000-0000-4000-8000-000000000000'],
    });
    expect(unknown.json().skipped).toEqual([
      { positionId: '00000000-0000-4000-8000-000000000000', reason: 'not_found' },
    ]);
  });

  it('activate queues a schedule task per active enrollment; pause cancels queued work', async () => {
    const res = await call('POST', `/v1/campaigns/${campaignId}/activate`);
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('active');
    const tasks = await t.admin.query(
      `SELECT count(*)::int AS n FROM outreach.tasks WHERE type = 'schedule_enrollment' AND status = 'pending' AND organisation_id = $1`,
      [user.organisationId],
    );
    expect(tasks.rows[0].n).toBe(3);
    expect((await call('POST', `/v1/campaigns/${campaignId}/pause`)).json().status).toBe('paused');
    const left = await t.admin.query(
      `SELECT count(*)::int AS n FROM outreach.tasks t JOIN outreach.campaign_enrollments e ON e.id = t.enrollment_id
       WHERE e.campaign_id = $1 AND t.status = 'pending'`,
      [campaignId],
    );
    expect(left.rows[0].n).toBe(0);
    expect((await call('POST', `/v1/campaigns/${campaignId}/activate`)).json().status).toBe('active');
    expect((await call('GET', `/v1/campaigns/${campaignId}`, undefined, other)).statusCode).toBe(404);
  });
});

describe('replies, bounces, opens and unsubscribes', () => {
  let org: string;
  let campaignId: string;
  let variantA: string;
  const enrollments: string[] = [];
  const messages: { id: string; header: string; unsub: string; pixel: string }[] = [];

  beforeAll(async () => {
    org = user.organisationId;
    const mailbox = await call('POST', '/v1/mailboxes', {
      fromName: 'Events',
      fromAddress: 'events@acme.test',
    });
    await markMailboxVerified(t.admin, mailbox.json().id);
    const campaign = await call('POST', '/v1/campaigns', {
      name: 'Events',
      mailboxId: mailbox.json().id,
      steps: STEPS,
    });
    campaignId = campaign.json().id;
    variantA = campaign.json().steps[0].experiment.variants[0].id;
    const stepId = campaign.json().steps[0].id;
    await call('POST', `/v1/campaigns/${campaignId}/activate`);
    const positions = await seedPositions(org, ['r1@q.test', 'r2@q.test', 'r3@q.test']);
    const res = await call('POST', `/v1/campaigns/${campaignId}/enrollments`, { positionIds: positions });
    for (const [i, e] of res.json().enrolled.entries()) {
      enrollments.push(e.enrollmentId);
      // What the worker leaves after sending step 1: a sent message, its pixel, the next step queued.
      const header = `<pf.test${i}@acme.test>`;
      const unsub = `unsubToken${i}AAAAAAAAAAAAAAAA`;
      const pixel = `pixelToken${i}BBBBBBBBBBBBBBBB`;
      const m = await t.admin.query(
        `INSERT INTO outreach.messages (organisation_id, enrollment_id, step_id, variant_id, mailbox_id, direction, status, message_id_header, to_address, subject, unsubscribe_token, sent_at)
         VALUES ($1, $2, $3, $4, $5, 'outbound', 'sent', $6, $7, 'Hi', $8, now() - interval '1 hour') RETURNING id`,
        [org, e.enrollmentId, stepId, variantA, mailbox.json().id, header, `r${i + 1}@q.test`, unsub],
      );
      await t.admin.query(
        'INSERT INTO tracking.pixels (organisation_id, message_id, token) VALUES ($1, $2, $3)',
        [org, m.rows[0].id, pixel],
      );
      await t.admin.query(
        `UPDATE outreach.tasks SET status = 'succeeded', completed_at = now() WHERE enrollment_id = $1`,
        [e.enrollmentId],
      );
      await t.admin.query(
        `INSERT INTO outreach.tasks (organisation_id, type, run_at, enrollment_id, step_id, dedupe_key) VALUES ($1, 'send_step', now() + interval '2 days', $2, $3, $4)`,
        [org, e.enrollmentId, campaign.json().steps[1].id, `send:${e.enrollmentId}:2`],
      );
      messages.push({ id: m.rows[0].id, header, unsub, pixel });
    }
  });

  const enrollmentStatus = async (id: string) =>
    (await t.admin.query('SELECT status FROM outreach.campaign_enrollments WHERE id = $1', [id])).rows[0]
      .status;

  it('POST /v1/inbound refuses a bad signature', async () => {
    const res = await t.app.inject(signed({ inReplyTo: messages[0]!.header }, 'wrong-secret'));
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_signature');
  });

  it('a reply matched by In-Reply-To stops the sequence: enrollment replied, next step cancelled, message stored', async () => {
    const reply = {
      messageId: '<reply-1@q.test>',
      inReplyTo: messages[0]!.header,
      references: [messages[0]!.header],
      from: 'r1@q.test',
      subject: 'Re: Hi',
      text: 'Sounds good',
    };
    const res = await t.app.inject(signed(reply));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ matched: true, kind: 'reply', enrollmentId: enrollments[0] });
    expect(await enrollmentStatus(enrollments[0]!)).toBe('replied');
    const tasks = await t.admin.query(
      `SELECT status FROM outreach.tasks WHERE enrollment_id = $1 AND type = 'send_step'`,
      [enrollments[0]],
    );
    expect(tasks.rows).toEqual([{ status: 'cancelled' }]);
    const stored = await t.admin.query(
      `SELECT direction, inbound_kind, in_reply_to FROM outreach.messages WHERE message_id_header = '<reply-1@q.test>'`,
    );
    expect(stored.rows[0]).toEqual({
      direction: 'inbound',
      inbound_kind: 'reply',
      in_reply_to: messages[0]!.header,
    });
    // The same webhook delivered twice changes nothing.
    expect((await t.app.inject(signed(reply))).json().duplicate).toBe(true);
  });

  it('an out-of-office reply is stored but does not stop the sequence', async () => {
    const res = await t.app.inject(
      signed({
        messageId: '<ooo@q.test>',
        inReplyTo: messages[1]!.header,
        subject: 'Automatic reply: away',
        headers: { 'Auto-Submitted': 'auto-replied' },
      }),
    );
    expect(res.json()).toMatchObject({ matched: true, kind: 'auto_reply' });
    expect(await enrollmentStatus(enrollments[1]!)).toBe('active');
  });

  it('a bounce report (DSN 5.1.1) bounces the enrollment and suppresses the address', async () => {
    const res = await t.app.inject(
      signed({
        references: [messages[1]!.header],
        subject: 'Undelivered Mail',
        text: 'Reporting-MTA: dns; mx\n\nAction: failed\nStatus: 5.1.1\n',
      }),
    );
    expect(res.json()).toMatchObject({ matched: true, kind: 'bounce' });
    expect(await enrollmentStatus(enrollments[1]!)).toBe('bounced');
    const sup = await t.admin.query(
      `SELECT reason FROM outreach.suppressions WHERE organisation_id = $1 AND email = 'r2@q.test'`,
      [org],
    );
    expect(sup.rows[0].reason).toBe('hard_bounce');
  });

  it('an unknown Message-ID is accepted but matches nothing', async () => {
    expect((await t.app.inject(signed({ inReplyTo: '<nobody@nowhere.test>' }))).json()).toEqual({
      matched: false,
      kind: 'reply',
    });
  });

  it('the pixel answers the same GIF for known and unknown tokens and records the open', async () => {
    const known = await t.app.inject({
      method: 'GET',
      url: `/t/${messages[2]!.pixel}.gif`,
      headers: { 'user-agent': 'Mozilla/5.0 (Macintosh)' },
    });
    const unknown = await t.app.inject({
      method: 'GET',
      url: '/t/AAAAAAAAAAAAAAAAAAAAAA.gif',
      headers: { 'user-agent': 'Mozilla/5.0 (Macintosh)' },
    });
    for (const res of [known, unknown]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/gif');
      expect(res.headers['cache-control']).toContain('no-store');
    }
    expect(known.rawPayload.equals(unknown.rawPayload)).toBe(true);
    expect(known.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');
    const opened = async () =>
      (
        await t.admin.query('SELECT open_count FROM tracking.message_open_stats WHERE message_id = $1', [
          messages[2]!.id,
        ])
      ).rows[0]?.open_count ?? 0;
    for (let i = 0; i < 200 && (await opened()) === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await opened()).toBe(1);
    await t.app.inject({
      method: 'GET',
      url: `/t/${messages[2]!.pixel}.gif`,
      headers: { 'user-agent': 'GoogleImageProxy' },
    });
    const machine = async () =>
      (
        await t.admin.query(
          'SELECT machine_open_count FROM tracking.message_open_stats WHERE message_id = $1',
          [messages[2]!.id],
        )
      ).rows[0].machine_open_count;
    for (let i = 0; i < 200 && (await machine()) === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await machine()).toBe(1);
  });

  it('GET /u/{token} shows a confirmation page and does not unsubscribe', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/u/${messages[2]!.unsub}` });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<form method="post"');
    expect(await enrollmentStatus(enrollments[2]!)).toBe('active');
  });

  it('a cookie-less one-click POST unsubscribes; unknown tokens get the same status and a page naming no one', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/u/${messages[2]!.unsub}`,
      payload: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(200);
    expect(await enrollmentStatus(enrollments[2]!)).toBe('unsubscribed');
    const sup = await t.admin.query(
      `SELECT reason FROM outreach.suppressions WHERE organisation_id = $1 AND email = 'r3@q.test'`,
      [org],
    );
    expect(sup.rows[0].reason).toBe('unsubscribed');
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/u/CCCCCCCCCCCCCCCCCCCCCC',
      payload: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(unknown.statusCode).toBe(200);
    // The recipient pages name the sending organisation (issue 18), so a known token's page differs
    // from an unknown one's; tokens are 128-bit random, so telling them apart gains nothing.
    expect(unknown.body).toContain('You are unsubscribed from this sender');
    expect(res.body).toMatch(/You are unsubscribed from (?!this sender)/);
  });

  it('stats per day and per variant count replies, bounces, opens (machine apart) and unsubscribes', async () => {
    const res = await call('GET', `/v1/campaigns/${campaignId}/stats`);
    expect(res.statusCode).toBe(200);
    expect(res.json().totals).toEqual({
      sent: 0,
      opened: 1,
      machineOpened: 1,
      replied: 1,
      bounced: 1,
      unsubscribed: 1,
    });
    expect(res.json().variants).toEqual([
      expect.objectContaining({ variantId: variantA, variantLabel: 'A', replied: 1 }),
    ]);
    expect(res.json().days[0].day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
