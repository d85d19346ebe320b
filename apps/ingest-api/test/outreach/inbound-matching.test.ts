import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { markMailboxVerified } from '../helpers/fixtures.js';
import { signedInbound } from '../helpers/inbound.js';

// How POST /v1/inbound matches (issue 16), through outreach-core's applyInbound like the IMAP
// poller (apps/worker/test/imap-inbound-matching.test.ts): `to` naming one of the organisation's
// mailboxes restricts the match to that mailbox, Message-IDs are normalised (or derived from the
// content), a DSN is read with the poller's parser and suppresses its failed recipients, and a
// reply leaves a step that does not exit on reply queued.

const SECRET = 'inbound-matching-secret';
let t: TestApp;
let user: TestUser;
let org: string;
const boxes: Record<'a' | 'b', { id: string; address: string }> = {} as never;

beforeAll(async () => {
  t = await buildTestApp({ label: 'inbound-matching', env: { INBOUND_WEBHOOK_SECRET: SECRET } });
  user = await t.signUp('owner@inbound-matching.test');
  org = user.organisationId;
  for (const key of ['a', 'b'] as const) {
    const address = `sales-${key}@acme.test`;
    const res = await t.request(user, {
      method: 'POST',
      url: '/v1/mailboxes',
      payload: { fromName: 'Sales', fromAddress: address },
    });
    await markMailboxVerified(t.admin, res.json().id);
    boxes[key] = { id: res.json().id, address };
  }
});
afterAll(async () => {
  await t?.close();
});

const signed = (body: object) => signedInbound(body, SECRET);

let seq = 0;

/** One enrollment per address whose step 1 went from mailbox `box` (Message-ID returned), step 2 queued. */
async function sentStep1(box: 'a' | 'b', emails: string[], exitOnReply = [true, true]) {
  seq += 1;
  const campaign = await t.request(user, {
    method: 'POST',
    url: '/v1/campaigns',
    payload: {
      name: `C${seq}`,
      mailboxId: boxes[box].id,
      steps: [
        { delayDays: 0, subject: 'Hi', body: 'x', exitOnReply: exitOnReply[0] },
        { delayDays: 2, subject: 'Again', body: 'y', exitOnReply: exitOnReply[1] },
      ],
    },
  });
  const steps = campaign.json().steps;
  await t.request(user, { method: 'POST', url: `/v1/campaigns/${campaign.json().id}/activate` });
  const company = await t.admin.query(
    `INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Acme') RETURNING id`,
    [org],
  );
  const out: { enrollment: string; header: string }[] = [];
  for (const [i, email] of emails.entries()) {
    // An address already known is the same position, enrolled again (in this other campaign).
    const known = await t.admin.query(
      'SELECT id FROM crm.positions WHERE organisation_id = $1 AND email = $2::citext',
      [org, email],
    );
    const person = known.rows.length
      ? undefined
      : await t.admin.query(
          `INSERT INTO crm.people (organisation_id, first_name) VALUES ($1, 'P') RETURNING id`,
          [org],
        );
    const position = known.rows.length
      ? known
      : await t.admin.query(
          `INSERT INTO crm.positions (organisation_id, person_id, company_id, email) VALUES ($1, $2, $3, $4) RETURNING id`,
          [org, person!.rows[0].id, company.rows[0].id, email],
        );
    const enrolled = await t.request(user, {
      method: 'POST',
      url: `/v1/campaigns/${campaign.json().id}/enrollments`,
      payload: { positionIds: [position.rows[0].id], allowEnrolledElsewhere: true },
    });
    const enrollment = enrolled.json().enrolled[0].enrollmentId;
    const header = `<c${seq}-${i}@acme.test>`;
    await t.admin.query(
      `INSERT INTO outreach.messages (organisation_id, enrollment_id, step_id, mailbox_id, direction, status, message_id_header, to_address, subject, unsubscribe_token, sent_at)
       VALUES ($1, $2, $3, $4, 'outbound', 'sent', $5, $6, 'Hi', $7, now() - interval '1 hour')`,
      [org, enrollment, steps[0].id, boxes[box].id, header, email, `unsub-c${seq}-${i}-AAAAAAAAAAAAAAAAAA`],
    );
    await t.admin.query(
      `UPDATE outreach.tasks SET status = 'succeeded', completed_at = now() WHERE enrollment_id = $1`,
      [enrollment],
    );
    await t.admin.query(
      `INSERT INTO outreach.tasks (organisation_id, type, run_at, enrollment_id, step_id, dedupe_key) VALUES ($1, 'send_step', now() + interval '2 days', $2, $3, $4)`,
      [org, enrollment, steps[1].id, `send:${enrollment}:${steps[1].id}`],
    );
    out.push({ enrollment, header });
  }
  return out;
}

const state = async (id: string) =>
  (
    await t.admin.query(
      `SELECT e.status, (SELECT count(*)::int FROM outreach.tasks k WHERE k.enrollment_id = e.id AND k.status = 'pending') AS pending
       FROM outreach.campaign_enrollments e WHERE e.id = $1`,
      [id],
    )
  ).rows[0];

const suppressed = async (emails: string[]) =>
  (
    await t.admin.query(
      'SELECT email::text FROM outreach.suppressions WHERE organisation_id = $1 AND email = ANY ($2::citext[]) ORDER BY email',
      [org, emails],
    )
  ).rows.map((r) => r.email);

describe('POST /v1/inbound: matching', () => {
  it('`to` naming another mailbox of the organisation matches nothing; naming the sender, or none, matches', async () => {
    const [first, second] = await sentStep1('a', ['amy@p.test', 'abe@p.test']);
    const toB = await t.app.inject(
      signed({ messageId: '<m1@p.test>', inReplyTo: first!.header, to: `Sales B <${boxes.b.address}>` }),
    );
    expect(toB.json()).toEqual({ matched: false, kind: 'reply' });
    expect(await state(first!.enrollment)).toEqual({ status: 'active', pending: 1 });
    const toA = await t.app.inject(
      signed({ messageId: '<m1@p.test>', inReplyTo: first!.header, to: boxes.a.address }),
    );
    expect(toA.json()).toMatchObject({ matched: true, kind: 'reply', enrollmentId: first!.enrollment });
    // A routing address that is no mailbox of ours: organisation-wide, as the webhook always was.
    const routed = await t.app.inject(
      signed({ messageId: '<m2@p.test>', inReplyTo: second!.header, to: 'inbound@provider.test' }),
    );
    expect(routed.json()).toMatchObject({ matched: true, enrollmentId: second!.enrollment });
  });

  it('stores a bare Message-ID bracketed, and a mail without one once however often it is posted', async () => {
    const [bare, none] = await sentStep1('a', ['bea@p.test', 'ben@p.test']);
    expect(
      (await t.app.inject(signed({ messageId: 'bare-id@p.test', inReplyTo: bare!.header }))).json(),
    ).toMatchObject({
      matched: true,
    });
    // A NUL (which PostgreSQL text cannot hold) is dropped, not a failed insert.
    const reply = { inReplyTo: none!.header, from: 'ben@p.test', subject: 'Re: Hi', text: 'Call\u0000 me' };
    expect((await t.app.inject(signed(reply))).json()).toMatchObject({ matched: true });
    expect((await t.app.inject(signed(reply))).json()).toMatchObject({ matched: true, duplicate: true });
    const stored = await t.admin.query(
      `SELECT message_id_header FROM outreach.messages WHERE organisation_id = $1 AND direction = 'inbound'
         AND enrollment_id = ANY ($2::uuid[]) ORDER BY message_id_header`,
      [org, [bare!.enrollment, none!.enrollment]],
    );
    expect(stored.rows.map((r) => r.message_id_header)).toEqual([
      '<bare-id@p.test>',
      expect.stringMatching(/^<inbound\.[0-9a-f]{40}@prospectflow\.invalid>$/),
    ]);
    const body = await t.admin.query(
      `SELECT body_text FROM outreach.messages WHERE organisation_id = $1 AND direction = 'inbound' AND enrollment_id = $2`,
      [org, none!.enrollment],
    );
    expect(body.rows).toEqual([{ body_text: 'Call me' }]);
  });

  it('a multi-recipient DSN in the text of a report is a bounce, as in the poller, and suppresses only the failed recipient', async () => {
    const [m] = await sentStep1('a', ['fwd-cid@p.test']);
    const res = await t.app.inject(
      signed({
        references: [m!.header],
        to: boxes.a.address,
        subject: 'Delivery Status Notification',
        headers: { 'Content-Type': 'multipart/report; report-type=delivery-status; boundary="x"' },
        text: [
          'Your message could not be delivered to everyone.',
          '',
          'Reporting-MTA: dns; mx.p.test',
          '',
          'Final-Recipient: rfc822; other@elsewhere.test',
          'Action: delayed',
          'Status: 4.4.1',
          '',
          'Original-Recipient: rfc822; fwd-cid@p.test',
          'Final-Recipient: rfc822; cid@forward.test',
          'Action: failed',
          'Status: 5.1.1',
        ].join('\n'),
      }),
    );
    expect(res.json()).toMatchObject({ matched: true, kind: 'bounce' });
    expect(await state(m!.enrollment)).toEqual({ status: 'bounced', pending: 0 });
    expect(await suppressed(['fwd-cid@p.test', 'other@elsewhere.test', 'cid@forward.test'])).toEqual([
      'fwd-cid@p.test',
    ]);
  });

  it('`deliveryStatus` (the RFC 3464 part) is parsed like the poller: delayed is automatic, failed bounces', async () => {
    const [slow, gone] = await sentStep1('a', ['slow-dee@p.test', 'gone-dot@p.test']);
    const part = (rcpt: string, action: string, status: string) =>
      `Reporting-MTA: dns; mx.p.test\r\n\r\nFinal-Recipient: rfc822; ${rcpt}\r\nAction: ${action}\r\nStatus: ${status}\r\n`;
    const delayed = await t.app.inject(
      signed({ references: [slow!.header], deliveryStatus: part('slow-dee@p.test', 'delayed', '4.4.7') }),
    );
    expect(delayed.json()).toMatchObject({ matched: true, kind: 'auto_reply' });
    expect(await state(slow!.enrollment)).toEqual({ status: 'active', pending: 1 });
    const failed = await t.app.inject(
      signed({ references: [gone!.header], deliveryStatus: part('gone-dot@p.test', 'failed', '5.1.1') }),
    );
    expect(failed.json()).toMatchObject({ matched: true, kind: 'bounce' });
    expect(await state(gone!.enrollment)).toEqual({ status: 'bounced', pending: 0 });
    expect(await suppressed(['slow-dee@p.test', 'gone-dot@p.test'])).toEqual(['gone-dot@p.test']);
  });

  it('a DSN naming no recipient (Action and Status only) still suppresses the address we sent to', async () => {
    const [m] = await sentStep1('a', ['old-eli@p.test']);
    const res = await t.app.inject(
      signed({ references: [m!.header], dsn: { action: 'failed', status: '5.1.1' } }),
    );
    expect(res.json()).toMatchObject({ matched: true, kind: 'bounce' });
    expect(await suppressed(['old-eli@p.test'])).toEqual(['old-eli@p.test']);
  });

  it('a reply leaves a next step that does not exit on reply queued, and cancels one that does', async () => {
    const [goesOn] = await sentStep1('a', ['gil@p.test'], [true, false]);
    const [exits] = await sentStep1('a', ['hal@p.test'], [true, true]);
    for (const m of [goesOn, exits]) {
      expect((await t.app.inject(signed({ inReplyTo: m!.header, text: 'Thanks' }))).json()).toMatchObject({
        matched: true,
        kind: 'reply',
      });
    }
    expect(await state(goesOn!.enrollment)).toEqual({ status: 'replied', pending: 1 });
    expect(await state(exits!.enrollment)).toEqual({ status: 'replied', pending: 0 });
  });

  it('pausing and re-activating the campaign keeps a replied enrollment going on with its next step', async () => {
    const [goesOn] = await sentStep1('a', ['gus@p.test'], [true, false]);
    const [exits] = await sentStep1('a', ['hub@p.test'], [true, true]);
    for (const m of [goesOn, exits]) await t.app.inject(signed({ inReplyTo: m!.header, text: 'Thanks' }));
    const live = async (enrollment: string) =>
      (
        await t.admin.query(
          `SELECT type FROM outreach.tasks WHERE enrollment_id = $1 AND status = 'pending' ORDER BY type`,
          [enrollment],
        )
      ).rows.map((r) => r.type);
    for (const m of [goesOn, exits]) {
      const { rows } = await t.admin.query(
        'SELECT campaign_id FROM outreach.campaign_enrollments WHERE id = $1',
        [m!.enrollment],
      );
      const campaign = rows[0].campaign_id;
      await t.request(user, { method: 'POST', url: `/v1/campaigns/${campaign}/pause` });
      expect(await live(m!.enrollment)).toEqual([]);
      await t.request(user, { method: 'POST', url: `/v1/campaigns/${campaign}/activate` });
    }
    // The worker's schedule task then queues step 2 again, or ends a sequence whose next step exits.
    expect(await live(goesOn!.enrollment)).toEqual(['schedule_enrollment']);
  });

  it('a mail naming none of our Message-IDs matches in the verified mailbox `to` names, by its sender or failed recipient', async () => {
    const [ivy, jon, kim] = await sentStep1('b', ['ivy@p.test', 'jon@p.test', 'kim@p.test']);
    // A new mail from the prospect (no In-Reply-To, no References) to the mailbox that wrote to her.
    const reply = await t.app.inject(
      signed({
        messageId: '<new-ivy@p.test>',
        from: 'Ivy <IVY@p.test>',
        to: boxes.b.address,
        text: 'Yes, call me',
      }),
    );
    expect(reply.json()).toMatchObject({ matched: true, kind: 'reply', enrollmentId: ivy!.enrollment });
    expect(await state(ivy!.enrollment)).toEqual({ status: 'replied', pending: 0 });
    // A DSN that names no id of ours: its failed recipient, within that mailbox.
    const dsn = await t.app.inject(
      signed({
        to: boxes.b.address,
        deliveryStatus:
          'Reporting-MTA: dns; mx.p.test\r\n\r\nFinal-Recipient: rfc822; jon@p.test\r\nAction: failed\r\nStatus: 5.1.1\r\n',
      }),
    );
    expect(dsn.json()).toMatchObject({ matched: true, kind: 'bounce', enrollmentId: jon!.enrollment });
    expect(await suppressed(['jon@p.test'])).toEqual(['jon@p.test']);
    // The other mailbox never wrote to Kim; a stranger was never written to; no `to` names nothing.
    for (const mail of [
      { from: 'kim@p.test', to: boxes.a.address },
      { from: 'stranger@p.test', to: boxes.b.address },
      { from: 'kim@p.test' },
    ])
      expect((await t.app.inject(signed({ ...mail, text: 'Hello' }))).json()).toEqual({
        matched: false,
        kind: 'reply',
      });
    expect(await state(kim!.enrollment)).toEqual({ status: 'active', pending: 1 });

    // Another organisation with the same address: unverified, it changes nothing; verified too,
    // the address no longer says which organisation the mail is for, and nothing is guessed.
    const other = await t.signUp('owner@other-inbound.test');
    const theirs = await t.request(other, {
      method: 'POST',
      url: '/v1/mailboxes',
      payload: { fromName: 'Sales', fromAddress: boxes.b.address },
    });
    const fromKim = (n: number) =>
      signed({ messageId: `<kim-${n}@p.test>`, from: 'kim@p.test', to: boxes.b.address });
    expect((await t.app.inject(fromKim(1))).json()).toMatchObject({
      matched: true,
      enrollmentId: kim!.enrollment,
    });
    await markMailboxVerified(t.admin, theirs.json().id);
    const [lee] = await sentStep1('b', ['lee@p.test']);
    expect(
      (
        await t.app.inject(signed({ messageId: '<lee-1@p.test>', from: 'lee@p.test', to: boxes.b.address }))
      ).json(),
    ).toEqual({ matched: false, kind: 'reply' });
    expect(await state(lee!.enrollment)).toEqual({ status: 'active', pending: 1 });
    await t.admin.query('DELETE FROM outreach.mailboxes WHERE id = $1', [theirs.json().id]);
  });

  it('a reply quoting a DSN in its text is a reply, as in the poller: the failed recipient comes from a report only', async () => {
    const [ann, bob] = await sentStep1('a', ['q-ann@p.test', 'q-bob@p.test']);
    const res = await t.app.inject(
      signed({
        messageId: '<q-ann-1@p.test>',
        inReplyTo: ann!.header,
        from: 'q-ann@p.test',
        to: boxes.a.address,
        subject: 'Re: Hi',
        text: 'Bob left, his mail bounced:\n\nFinal-Recipient: rfc822; q-bob@p.test\nAction: failed\nStatus: 5.1.1\n',
      }),
    );
    expect(res.json()).toMatchObject({ matched: true, kind: 'reply', enrollmentId: ann!.enrollment });
    expect(await state(ann!.enrollment)).toEqual({ status: 'replied', pending: 0 });
    expect(await state(bob!.enrollment)).toEqual({ status: 'active', pending: 1 });
    expect(await suppressed(['q-ann@p.test', 'q-bob@p.test'])).toEqual([]);
  });

  it('a DSN whose failed recipient is not the address we wrote to is automatic: no bounce, no suppression', async () => {
    const [m] = await sentStep1('a', ['alias-flo@p.test']);
    const res = await t.app.inject(
      signed({
        references: [m!.header],
        to: boxes.a.address,
        deliveryStatus: [
          'Reporting-MTA: dns; mx.p.test',
          '',
          'Final-Recipient: rfc822; alias-flo@p.test',
          'Action: delivered',
          'Status: 2.0.0',
          '',
          'Final-Recipient: rfc822; expanded@elsewhere.test',
          'Action: failed',
          'Status: 5.1.1',
        ].join('\r\n'),
      }),
    );
    expect(res.json()).toMatchObject({ matched: true, kind: 'auto_reply', enrollmentId: m!.enrollment });
    expect(await state(m!.enrollment)).toEqual({ status: 'active', pending: 1 });
    expect(await suppressed(['alias-flo@p.test', 'expanded@elsewhere.test'])).toEqual([]);
  });

  it("a reply copied to mailbox B answers A's thread only, even when B wrote to the same sender", async () => {
    const [inA] = await sentStep1('a', ['cc-amy@p.test']);
    const [inB] = await sentStep1('b', ['cc-amy@p.test']);
    const answer = { messageId: '<cc-amy-1@p.test>', inReplyTo: inA!.header, from: 'cc-amy@p.test' };
    expect((await t.app.inject(signed({ ...answer, to: boxes.b.address }))).json()).toEqual({
      matched: false,
      kind: 'reply',
    });
    expect(await state(inB!.enrollment)).toEqual({ status: 'active', pending: 1 });
    expect((await t.app.inject(signed({ ...answer, to: boxes.a.address }))).json()).toMatchObject({
      matched: true,
      enrollmentId: inA!.enrollment,
    });
    expect(await state(inA!.enrollment)).toEqual({ status: 'replied', pending: 0 });
    expect(await state(inB!.enrollment)).toEqual({ status: 'active', pending: 1 });
  });

  it('a reply answers In-Reply-To, else the last References entry, not the newest message it names', async () => {
    // Created in this order: the later ones are the newer messages.
    const [ann, dot, ben, cy] = await sentStep1('a', [
      'p-ann@p.test',
      'p-dot@p.test',
      'p-ben@p.test',
      'p-cy@p.test',
    ]);
    const byInReplyTo = await t.app.inject(
      signed({
        messageId: '<p-ann-1@p.test>',
        inReplyTo: ann!.header,
        references: [ben!.header, ann!.header],
      }),
    );
    expect(byInReplyTo.json()).toMatchObject({ matched: true, enrollmentId: ann!.enrollment });
    const byReferences = await t.app.inject(
      signed({ messageId: '<p-dot-1@p.test>', references: [`${cy!.header} ${dot!.header}`] }),
    );
    expect(byReferences.json()).toMatchObject({ matched: true, enrollmentId: dot!.enrollment });
    expect(await state(ben!.enrollment)).toEqual({ status: 'active', pending: 1 });
    expect(await state(cy!.enrollment)).toEqual({ status: 'active', pending: 1 });
  });

  it('a delivery-status part that is not text is refused as problem+json', async () => {
    const res = await t.app.inject(signed({ inReplyTo: '<x@p.test>', deliveryStatus: { action: 'failed' } }));
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().code).toBe('validation_failed');
  });
});
