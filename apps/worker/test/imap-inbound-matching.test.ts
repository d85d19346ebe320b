import { setMailPassword, testMail } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { MailboxPoller } from '../src/mailboxes/poller.js';
import { inboundSink } from '../src/outreach/inbound.js';
import {
  createCampaign,
  createOrg,
  createPositions,
  enroll,
  openTestDb,
  type StepSeed,
  type TestDb,
} from './support/db.js';
import { connectMailbox, testImapClient, testMailServices } from './support/mailboxes.js';
import { silent } from './support/worker.js';

// How the IMAP poller matches what it reads (issue 16): only the read mailbox's sent messages,
// Message-IDs normalised (or derived from the content), DSNs by their failed recipients, and a
// reply leaving a step that does not exit on reply queued. The webhook's side of each rule is in
// apps/ingest-api/test/outreach/inbound-matching.test.ts.
describe('IMAP poller: matching inbound messages (real Dovecot)', () => {
  const mail = testMail();
  const clock = new ManualClock('2026-03-03T10:00:00Z');
  let t: TestDb;
  let pool: pg.Pool;

  beforeAll(async () => {
    t = await openTestDb('imap-inbound-matching');
    pool = new pg.Pool({ connectionString: t.workerUrl, max: 4 });
  });
  afterAll(async () => {
    await pool?.end();
    await t?.close();
  });

  const poller = () =>
    new MailboxPoller({
      pool,
      mail: testMailServices(),
      log: silent,
      intervalMs: 60_000,
      apply: inboundSink(clock),
    });

  async function mailbox(org: string, address: string) {
    setMailPassword(mail, address, 'pw');
    return connectMailbox(t.admin, org, {
      address,
      secrets: { imapPassword: 'pw', smtpPassword: 'pw' },
      verified: true,
    });
  }

  async function append(address: string, raws: string[]) {
    const client = await testImapClient(address);
    for (const raw of raws) await client.append('INBOX', raw);
    await client.logout();
  }

  /** Enrollments whose step 1 went from `mailboxId` (Message-ID <label-i@sender.test>), step 2 queued. */
  async function sentStep1(
    org: string,
    mailboxId: string,
    emails: string[],
    label: string,
    steps: StepSeed[] = [
      { delayDays: 0, subject: 'Hi', body: 'x' },
      { delayDays: 2, subject: 'Again', body: 'y' },
    ],
  ) {
    const campaign = await createCampaign(t.admin, org, mailboxId, steps, { name: label });
    // An address already known is the same position, enrolled again (in this other campaign).
    const known = await t.admin.query<{ id: string; email: string }>(
      'SELECT id, email::text FROM crm.positions WHERE organisation_id = $1 AND email = ANY ($2::citext[])',
      [org, emails],
    );
    const created = await createPositions(
      t.admin,
      org,
      emails.filter((email) => !known.rows.some((r) => r.email === email)).map((email) => ({ email })),
    );
    const positions = emails.map(
      (email) => known.rows.find((r) => r.email === email)?.id ?? created.shift()!,
    );
    const enrollments = await enroll(t.admin, org, campaign.id, positions, clock.now(), label);
    for (const [i, e] of enrollments.entries()) {
      await t.admin.query(
        `INSERT INTO outreach.messages (organisation_id, enrollment_id, step_id, mailbox_id, direction, status, message_id_header, to_address, subject, unsubscribe_token, sent_at)
         VALUES ($1, $2, $3, $4, 'outbound', 'sent', $5, $6, 'Hi', $7, now())`,
        [
          org,
          e,
          campaign.steps[0]!.id,
          mailboxId,
          `<${label}-${i}@sender.test>`,
          emails[i],
          `unsub-${label}-${i}-AAAAAAAAAAAAAAAAAAAA`,
        ],
      );
      await t.admin.query(
        `UPDATE outreach.tasks SET type = 'send_step', step_id = $2, run_at = now() + interval '2 days' WHERE enrollment_id = $1`,
        [e, campaign.steps[1]!.id],
      );
    }
    return enrollments;
  }

  const state = async (id: string) =>
    (
      await t.admin.query<{ status: string; pending: number }>(
        `SELECT e.status, (SELECT count(*)::int FROM outreach.tasks k WHERE k.enrollment_id = e.id AND k.status = 'pending') AS pending
         FROM outreach.campaign_enrollments e WHERE e.id = $1`,
        [id],
      )
    ).rows[0];

  const inbound = async (org: string) =>
    (
      await t.admin.query<{ message_id_header: string; mailbox_id: string; inbound_kind: string }>(
        `SELECT message_id_header, mailbox_id, inbound_kind FROM outreach.messages
         WHERE organisation_id = $1 AND direction = 'inbound' ORDER BY message_id_header`,
        [org],
      )
    ).rows;

  const suppressed = async (org: string) =>
    (
      await t.admin.query<{ email: string }>(
        'SELECT email::text FROM outreach.suppressions WHERE organisation_id = $1 ORDER BY email',
        [org],
      )
    ).rows.map((r) => r.email);

  const syncError = async (mailboxId: string) =>
    (
      await t.admin.query('SELECT last_error FROM outreach.mailbox_sync_states WHERE mailbox_id = $1', [
        mailboxId,
      ])
    ).rows[0]?.last_error ?? null;

  function reply(o: {
    from: string;
    to: string;
    /** Omitted: a mail naming none of our Message-IDs. */
    inReplyTo?: string;
    messageId?: string | null;
    body?: string;
    headers?: string[];
  }) {
    return [
      `From: ${o.from}`,
      `To: ${o.to}`,
      'Subject: Re: Hi',
      ...(o.messageId === null
        ? []
        : [`Message-ID: ${o.messageId ?? `<r.${Math.random().toString(36).slice(2)}@prospect.test>`}`]),
      ...(o.inReplyTo ? [`In-Reply-To: ${o.inReplyTo}`, `References: ${o.inReplyTo}`] : []),
      ...(o.headers ?? []),
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      o.body ?? 'Yes, interested',
      '',
    ].join('\r\n');
  }

  function dsn(to: string, recipientBlocks: string[], returnedHeaders?: string) {
    const b = 'BOUNDARY';
    return [
      'From: MAILER-DAEMON@mx.test',
      `To: ${to}`,
      'Subject: Undelivered Mail Returned to Sender',
      `Message-ID: <dsn.${Math.random().toString(36).slice(2)}@mx.test>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
      '',
      `--${b}`,
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '',
      `--${b}`,
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.test',
      '',
      recipientBlocks.join('\r\n\r\n'),
      ...(returnedHeaders ? ['', `--${b}`, 'Content-Type: text/rfc822-headers', '', returnedHeaders] : []),
      '',
      `--${b}--`,
      '',
    ].join('\r\n');
  }

  it('a reply read in mailbox B to a message mailbox A sent does not match; read in A, it does', async () => {
    const org = await createOrg(t.admin, 'match-mailbox');
    const a = await mailbox(org, 'match-a@sender.test');
    const b = await mailbox(org, 'match-b@sender.test');
    const [e] = await sentStep1(org, a, ['amy@prospect.test'], 'mm');
    const answer = reply({
      from: 'amy@prospect.test',
      to: 'match-b@sender.test',
      inReplyTo: '<mm-0@sender.test>',
    });
    await append('match-b@sender.test', [answer]);
    expect((await poller().pollMailbox(org, b)).read).toBe(1);
    expect(await state(e!)).toEqual({ status: 'active', pending: 1 });
    expect(await inbound(org)).toEqual([]);
    await append('match-a@sender.test', [answer]);
    expect((await poller().pollMailbox(org, a)).read).toBe(1);
    expect(await state(e!)).toEqual({ status: 'replied', pending: 0 });
    expect((await inbound(org)).map((m) => m.mailbox_id)).toEqual([a]);
  });

  it("a mail naming none of our Message-IDs answers the mailbox's latest message to its sender, in that mailbox only", async () => {
    const org = await createOrg(t.admin, 'match-sender');
    const m = await mailbox(org, 'match-sender@sender.test');
    const other = await mailbox(org, 'match-sender-other@sender.test');
    const [dee, fay] = await sentStep1(org, m, ['dee@prospect.test', 'fay@prospect.test'], 'snd');
    // Eve was written to from the other mailbox only: her mail to this one answers nothing here.
    const [eve] = await sentStep1(org, other, ['eve@prospect.test'], 'sno');
    await append('match-sender@sender.test', [
      // A client that dropped In-Reply-To/References (or a provider that rewrote our Message-ID).
      reply({
        from: 'Dee Doe <DEE@prospect.test>',
        to: 'match-sender@sender.test',
        messageId: '<dee@prospect.test>',
      }),
      reply({
        from: 'fay@prospect.test',
        to: 'match-sender@sender.test',
        messageId: '<fay-ooo@prospect.test>',
        headers: ['Auto-Submitted: auto-replied'],
      }),
      reply({ from: 'eve@prospect.test', to: 'match-sender@sender.test', messageId: '<eve@prospect.test>' }),
      reply({ from: 'stranger@elsewhere.test', to: 'match-sender@sender.test' }),
    ]);
    expect((await poller().pollMailbox(org, m)).read).toBe(4);
    expect(await state(dee!)).toEqual({ status: 'replied', pending: 0 });
    // An out-of-office from a prospect is stored against her thread and changes nothing.
    expect(await state(fay!)).toEqual({ status: 'active', pending: 1 });
    expect(await state(eve!)).toEqual({ status: 'active', pending: 1 });
    expect(await inbound(org)).toEqual([
      { message_id_header: '<dee@prospect.test>', mailbox_id: m, inbound_kind: 'reply' },
      { message_id_header: '<fay-ooo@prospect.test>', mailbox_id: m, inbound_kind: 'auto_reply' },
    ]);
    const stored = await t.admin.query(
      `SELECT from_address::text, in_reply_to FROM outreach.messages WHERE message_id_header = '<dee@prospect.test>'`,
    );
    expect(stored.rows).toEqual([{ from_address: 'dee@prospect.test', in_reply_to: null }]);
  });

  it('a Message-ID without brackets is stored bracketed and does not block the poll', async () => {
    const org = await createOrg(t.admin, 'match-bare-id');
    const m = await mailbox(org, 'match-bare@sender.test');
    const [e0, e1] = await sentStep1(org, m, ['bea@prospect.test', 'bob@prospect.test'], 'bare');
    await append('match-bare@sender.test', [
      reply({
        from: 'bea@prospect.test',
        to: 'match-bare@sender.test',
        inReplyTo: '<bare-0@sender.test>',
        messageId: 'no-brackets@prospect.test',
      }),
      reply({
        from: 'bob@prospect.test',
        to: 'match-bare@sender.test',
        inReplyTo: '<bare-1@sender.test>',
        messageId: '<ok@prospect.test> (comment)',
      }),
    ]);
    const poll = await poller().pollMailbox(org, m);
    expect(poll).toMatchObject({ read: 2 });
    expect(poll.error).toBeUndefined();
    expect(await syncError(m)).toBeNull();
    expect((await inbound(org)).map((x) => x.message_id_header)).toEqual([
      '<no-brackets@prospect.test>',
      '<ok@prospect.test>',
    ]);
    expect((await state(e0!))?.status).toBe('replied');
    expect((await state(e1!))?.status).toBe('replied');
  });

  it('a reply without a Message-ID read twice is stored once (its id comes from its content)', async () => {
    const org = await createOrg(t.admin, 'match-no-id');
    const m = await mailbox(org, 'match-noid@sender.test');
    const [e] = await sentStep1(org, m, ['cal@prospect.test'], 'noid');
    const answer = reply({
      from: 'cal@prospect.test',
      to: 'match-noid@sender.test',
      inReplyTo: '<noid-0@sender.test>',
      messageId: null,
    });
    const other = reply({
      from: 'cal@prospect.test',
      to: 'match-noid@sender.test',
      inReplyTo: '<noid-0@sender.test>',
      messageId: null,
      body: 'One more thing',
    });
    // The same message under two UIDs: what a re-read after a UIDVALIDITY reset looks like.
    await append('match-noid@sender.test', [answer, answer, other]);
    expect((await poller().pollMailbox(org, m)).read).toBe(3);
    const stored = await inbound(org);
    expect(stored).toHaveLength(2);
    for (const row of stored)
      expect(row.message_id_header).toMatch(/^<inbound\.[0-9a-f]{40}@prospectflow\.invalid>$/);
    expect(await state(e!)).toEqual({ status: 'replied', pending: 0 });
    const counted = await t.admin.query(
      `SELECT sum(replied)::int AS n FROM tracking.campaign_daily_stats d JOIN outreach.campaign_enrollments e ON e.campaign_id = d.campaign_id WHERE e.id = $1`,
      [e],
    );
    expect(counted.rows[0].n).toBe(1);
  });

  it('a DSN without the returned headers bounces by its failed recipient, in that mailbox only', async () => {
    const org = await createOrg(t.admin, 'match-dsn-rcpt');
    const m = await mailbox(org, 'match-dsn@sender.test');
    const other = await mailbox(org, 'match-dsn-other@sender.test');
    const [e] = await sentStep1(org, m, ['gone-dan@prospect.test'], 'dsnr');
    // The same address written to from the other mailbox: its enrollment is not this DSN's.
    const [elsewhere] = await sentStep1(org, other, ['gone-dan@prospect.test'], 'dsno');
    await append('match-dsn@sender.test', [
      dsn('match-dsn@sender.test', [
        'Final-Recipient: rfc822; gone-dan@prospect.test\r\nAction: failed\r\nStatus: 5.1.1',
      ]),
    ]);
    expect((await poller().pollMailbox(org, m)).read).toBe(1);
    expect(await state(e!)).toEqual({ status: 'bounced', pending: 0 });
    expect(await state(elsewhere!)).toEqual({ status: 'active', pending: 1 });
    expect(await suppressed(org)).toEqual(['gone-dan@prospect.test']);
    const bounced = await t.admin.query(
      `SELECT status, error FROM outreach.messages WHERE message_id_header = '<dsnr-0@sender.test>'`,
    );
    expect(bounced.rows[0]).toEqual({ status: 'bounced', error: 'bounce report: 5.1.1' });
  });

  it('a multi-recipient DSN suppresses the failed recipient it names, not the delayed one nor the body text', async () => {
    const org = await createOrg(t.admin, 'match-dsn-multi');
    const m = await mailbox(org, 'match-multi@sender.test');
    const [e, delayedOnly] = await sentStep1(
      org,
      m,
      ['fwd-eve@prospect.test', 'slow-fay@prospect.test'],
      'multi',
    );
    await append('match-multi@sender.test', [
      dsn(
        'match-multi@sender.test',
        [
          'Final-Recipient: rfc822; other@elsewhere.test\r\nAction: delayed\r\nStatus: 4.4.1',
          // Forwarded: our prospect's address is the Original-Recipient.
          'Original-Recipient: rfc822; fwd-eve@prospect.test\r\nFinal-Recipient: rfc822; eve@forward.test\r\nAction: failed\r\nStatus: 5.1.1',
        ],
        'Message-ID: <multi-0@sender.test>\r\nTo: someone-else@prospect.test',
      ),
      // Only delayed: automatic, neither a bounce nor a reply.
      dsn(
        'match-multi@sender.test',
        ['Final-Recipient: rfc822; slow-fay@prospect.test\r\nAction: delayed\r\nStatus: 4.4.1'],
        'Message-ID: <multi-1@sender.test>',
      ),
    ]);
    expect((await poller().pollMailbox(org, m)).read).toBe(2);
    expect(await state(e!)).toEqual({ status: 'bounced', pending: 0 });
    expect(await state(delayedOnly!)).toEqual({ status: 'active', pending: 1 });
    expect(await suppressed(org)).toEqual(['fwd-eve@prospect.test']);
    expect((await inbound(org)).map((x) => x.inbound_kind).sort()).toEqual(['auto_reply', 'bounce']);
  });

  it("a Cc copy in mailbox B of a reply to A's message changes nothing in B, whichever mailbox is read first", async () => {
    for (const order of ['b-then-a', 'a-then-b'] as const) {
      const org = await createOrg(t.admin, `match-cc-${order}`);
      const a = await mailbox(org, `cc-a-${order}@sender.test`);
      const b = await mailbox(org, `cc-b-${order}@sender.test`);
      // Both mailboxes wrote to Amy: B's thread must not take the answer to A's.
      const [ea] = await sentStep1(org, a, ['amy@prospect.test'], `cca-${order}`);
      const [eb] = await sentStep1(org, b, ['amy@prospect.test'], `ccb-${order}`);
      const answer = reply({
        from: 'amy@prospect.test',
        to: `cc-a-${order}@sender.test`,
        inReplyTo: `<cca-${order}-0@sender.test>`,
        messageId: `<amy-${order}@prospect.test>`,
        headers: [`Cc: cc-b-${order}@sender.test`],
      });
      await append(`cc-a-${order}@sender.test`, [answer]);
      await append(`cc-b-${order}@sender.test`, [answer]);
      for (const id of order === 'b-then-a' ? [b, a] : [a, b])
        expect((await poller().pollMailbox(org, id)).read).toBe(1);
      expect(await state(ea!)).toEqual({ status: 'replied', pending: 0 });
      expect(await state(eb!)).toEqual({ status: 'active', pending: 1 });
      expect(await inbound(org)).toEqual([
        { message_id_header: `<amy-${order}@prospect.test>`, mailbox_id: a, inbound_kind: 'reply' },
      ]);
    }
  });

  it('a DSN bounces our message only when its failed recipient is the address we wrote to', async () => {
    const org = await createOrg(t.admin, 'match-dsn-ours');
    const m = await mailbox(org, 'match-ours@sender.test');
    const [kept, alsoKept, gone] = await sentStep1(
      org,
      m,
      ['list-ida@prospect.test', 'ivo@prospect.test', 'Gone-Jo@prospect.test'],
      'ours',
    );
    await append('match-ours@sender.test', [
      // Our recipient delivered; an address her alias expanded to failed.
      dsn(
        'match-ours@sender.test',
        [
          'Final-Recipient: rfc822; list-ida@prospect.test\r\nAction: delivered\r\nStatus: 2.0.0',
          'Final-Recipient: rfc822; stranger@elsewhere.test\r\nAction: failed\r\nStatus: 5.1.1',
        ],
        'Message-ID: <ours-0@sender.test>',
      ),
      // Only someone else failed, for a message of ours to Ivo.
      dsn(
        'match-ours@sender.test',
        ['Final-Recipient: rfc822; other@elsewhere.test\r\nAction: failed\r\nStatus: 5.1.1'],
        'Message-ID: <ours-1@sender.test>',
      ),
      // Our recipient failed (in another case than we wrote it), after a stranger with another status.
      dsn(
        'match-ours@sender.test',
        [
          'Final-Recipient: rfc822; third@elsewhere.test\r\nAction: failed\r\nStatus: 5.2.2',
          'Final-Recipient: rfc822; gone-jo@PROSPECT.test\r\nAction: failed\r\nStatus: 5.1.1',
        ],
        'Message-ID: <ours-2@sender.test>',
      ),
    ]);
    expect((await poller().pollMailbox(org, m)).read).toBe(3);
    expect(await state(kept!)).toEqual({ status: 'active', pending: 1 });
    expect(await state(alsoKept!)).toEqual({ status: 'active', pending: 1 });
    expect(await state(gone!)).toEqual({ status: 'bounced', pending: 0 });
    // The status the report gives our recipient, not the first one it lists.
    const ours = await t.admin.query(
      `SELECT error FROM outreach.messages WHERE organisation_id = $1 AND message_id_header = '<ours-2@sender.test>'`,
      [org],
    );
    expect(ours.rows).toEqual([{ error: 'bounce report: 5.1.1' }]);
    expect(await suppressed(org)).toEqual(['gone-jo@prospect.test']);
    expect((await inbound(org)).map((x) => x.inbound_kind).sort()).toEqual([
      'auto_reply',
      'auto_reply',
      'bounce',
    ]);
  });

  it('a reply answers the message In-Reply-To names, not a mail of ours it attaches or an older References entry', async () => {
    const org = await createOrg(t.admin, 'match-parent');
    const m = await mailbox(org, 'match-parent@sender.test');
    // Ann's message first, then Ben's and Cy's: the newest of the named messages is not the answered one.
    const [ann, ben, cy, dot] = await sentStep1(
      org,
      m,
      ['ann@prospect.test', 'ben@prospect.test', 'cy@prospect.test', 'dot@prospect.test'],
      'par',
    );
    const b = 'MIXED';
    const attaching = [
      'From: ann@prospect.test',
      'To: match-parent@sender.test',
      'Subject: Re: Hi',
      'Message-ID: <ann-fwd@prospect.test>',
      'In-Reply-To: <par-0@sender.test>',
      'References: <par-0@sender.test>',
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${b}"`,
      '',
      `--${b}`,
      'Content-Type: text/plain',
      '',
      'Ben got this one too, see attached.',
      '',
      `--${b}`,
      'Content-Type: message/rfc822',
      '',
      'From: match-parent@sender.test',
      'To: ben@prospect.test',
      'Subject: Hi',
      'Message-ID: <par-1@sender.test>',
      '',
      'x',
      '',
      `--${b}--`,
      '',
    ].join('\r\n');
    // References lists the root first and the direct parent last (In-Reply-To's: Dot's message).
    const threaded = reply({
      from: 'dot@prospect.test',
      to: 'match-parent@sender.test',
      messageId: '<dot-1@prospect.test>',
      headers: ['In-Reply-To: <par-3@sender.test>', 'References: <par-2@sender.test> <par-3@sender.test>'],
    });
    await append('match-parent@sender.test', [attaching, threaded]);
    expect((await poller().pollMailbox(org, m)).read).toBe(2);
    expect(await state(ann!)).toEqual({ status: 'replied', pending: 0 });
    expect(await state(ben!)).toEqual({ status: 'active', pending: 1 });
    expect(await state(cy!)).toEqual({ status: 'active', pending: 1 });
    expect(await state(dot!)).toEqual({ status: 'replied', pending: 0 });
    const stored = await t.admin.query(
      `SELECT message_id_header, in_reply_to FROM outreach.messages
       WHERE organisation_id = $1 AND direction = 'inbound' ORDER BY message_id_header`,
      [org],
    );
    expect(stored.rows).toEqual([
      { message_id_header: '<ann-fwd@prospect.test>', in_reply_to: '<par-0@sender.test>' },
      { message_id_header: '<dot-1@prospect.test>', in_reply_to: '<par-3@sender.test>' },
    ]);
  });

  it("a reply carrying our verification header is still a reply: only the mailbox's own check message is ignored", async () => {
    const org = await createOrg(t.admin, 'match-verify-header');
    const m = await mailbox(org, 'match-check@sender.test');
    const [fay] = await sentStep1(org, m, ['fay@prospect.test'], 'chk');
    await append('match-check@sender.test', [
      reply({
        from: 'fay@prospect.test',
        to: 'match-check@sender.test',
        inReplyTo: '<chk-0@sender.test>',
        headers: ['X-ProspectFlow-Verification: hello'],
      }),
    ]);
    expect((await poller().pollMailbox(org, m)).read).toBe(1);
    expect(await state(fay!)).toEqual({ status: 'replied', pending: 0 });
  });

  it("a long thread's References keep their end: a reply naming our message last, after 60 others, matches it", async () => {
    const org = await createOrg(t.admin, 'match-long-refs');
    const m = await mailbox(org, 'match-long@sender.test');
    const [eve] = await sentStep1(org, m, ['eve@prospect.test'], 'long');
    // A colleague answers (another address, so no fallback by sender) from a client that dropped
    // In-Reply-To; References: the thread's 60 earlier messages, then ours, the direct parent.
    const earlier = Array.from({ length: 60 }, (_, i) => `<old-${i}@elsewhere.test>`).join(' ');
    const answer = reply({
      from: 'colleague@prospect.test',
      to: 'match-long@sender.test',
      messageId: '<colleague-1@prospect.test>',
      headers: [`References: ${earlier} <long-0@sender.test>`],
    });
    await append('match-long@sender.test', [answer]);
    expect((await poller().pollMailbox(org, m)).read).toBe(1);
    expect(await state(eve!)).toEqual({ status: 'replied', pending: 0 });
  });

  it('a reply that attaches a bounce report, or quotes one, is a reply, not a bounce', async () => {
    const org = await createOrg(t.admin, 'match-fwd-dsn');
    const m = await mailbox(org, 'match-fwd-dsn@sender.test');
    const [eva, bob] = await sentStep1(org, m, ['eva@prospect.test', 'bob@prospect.test'], 'fwd');
    const b = 'OUTER';
    const attached = [
      'From: eva@prospect.test',
      'To: match-fwd-dsn@sender.test',
      'Subject: Re: Hi',
      'Message-ID: <eva-1@prospect.test>',
      'In-Reply-To: <fwd-0@sender.test>',
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${b}"`,
      '',
      `--${b}`,
      'Content-Type: text/plain',
      '',
      'Bob left us; his mail bounced, see below. Write to me instead.',
      '',
      `--${b}`,
      'Content-Type: message/rfc822',
      '',
      dsn('eva@prospect.test', [
        'Final-Recipient: rfc822; bob@prospect.test\r\nAction: failed\r\nStatus: 5.1.1',
      ]),
      `--${b}--`,
      '',
    ].join('\r\n');
    const quoted = reply({
      from: 'eva@prospect.test',
      to: 'match-fwd-dsn@sender.test',
      inReplyTo: '<fwd-0@sender.test>',
      messageId: '<eva-2@prospect.test>',
      body: 'Bob bounced:\r\n\r\nFinal-Recipient: rfc822; bob@prospect.test\r\nAction: failed\r\nStatus: 5.1.1',
    });
    await append('match-fwd-dsn@sender.test', [attached, quoted]);
    expect((await poller().pollMailbox(org, m)).read).toBe(2);
    expect(await state(eva!)).toEqual({ status: 'replied', pending: 0 });
    expect(await state(bob!)).toEqual({ status: 'active', pending: 1 });
    expect(await suppressed(org)).toEqual([]);
    expect((await inbound(org)).map((x) => x.inbound_kind)).toEqual(['reply', 'reply']);
  });

  it('an internationalised DSN (RFC 6533) bounces by its global-delivery-status part and returned message', async () => {
    const org = await createOrg(t.admin, 'match-global-dsn');
    const m = await mailbox(org, 'match-global@sender.test');
    const [headersOnly, whole] = await sentStep1(
      org,
      m,
      ['gone-ulla@prospect.test', 'gone-ümit@prospect.test'],
      'glob',
    );
    const globalDsn = (rcpt: string, returnedType: string, returned: string) => {
      const b = 'GLOBAL';
      return [
        'From: MAILER-DAEMON@mx.test',
        'To: match-global@sender.test',
        'Subject: Undelivered Mail Returned to Sender',
        `Message-ID: <gdsn.${Math.random().toString(36).slice(2)}@mx.test>`,
        'MIME-Version: 1.0',
        `Content-Type: multipart/report; report-type=global-delivery-status; boundary="${b}"`,
        '',
        `--${b}`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Your message could not be delivered.',
        '',
        `--${b}`,
        'Content-Type: message/global-delivery-status',
        '',
        'Reporting-MTA: dns; mx.test',
        '',
        `Final-Recipient: utf-8; ${rcpt}\r\nAction: failed\r\nStatus: 5.1.1`,
        '',
        `--${b}`,
        `Content-Type: ${returnedType}`,
        '',
        returned,
        '',
        `--${b}--`,
        '',
      ].join('\r\n');
    };
    await append('match-global@sender.test', [
      // The returned headers' Message-ID names our message (message/global-headers).
      globalDsn(
        'gone-ulla@prospect.test',
        'message/global-headers',
        'Message-ID: <glob-0@sender.test>\r\nSubject: Hi',
      ),
      globalDsn(
        'gone-ümit@prospect.test',
        'message/global',
        'From: match-global@sender.test\r\nTo: gone-ümit@prospect.test\r\nMessage-ID: <glob-1@sender.test>\r\nSubject: Hi\r\n\r\nx',
      ),
    ]);
    expect((await poller().pollMailbox(org, m)).read).toBe(2);
    expect(await state(headersOnly!)).toEqual({ status: 'bounced', pending: 0 });
    expect(await state(whole!)).toEqual({ status: 'bounced', pending: 0 });
    expect(await suppressed(org)).toEqual(['gone-ulla@prospect.test', 'gone-ümit@prospect.test']);
  });

  it('a reply leaves a next step that does not exit on reply queued, and cancels one that does', async () => {
    const org = await createOrg(t.admin, 'match-exit');
    const m = await mailbox(org, 'match-exit@sender.test');
    const [goesOn] = await sentStep1(org, m, ['gil@prospect.test'], 'goon', [
      { delayDays: 0, subject: 'Hi', body: 'x' },
      { delayDays: 2, subject: 'Again', body: 'y', exitOnReply: false },
    ]);
    const [exits] = await sentStep1(org, m, ['hal@prospect.test'], 'exit', [
      { delayDays: 0, subject: 'Hi', body: 'x' },
      { delayDays: 2, subject: 'Again', body: 'y', exitOnReply: true },
    ]);
    await append('match-exit@sender.test', [
      reply({ from: 'gil@prospect.test', to: 'match-exit@sender.test', inReplyTo: '<goon-0@sender.test>' }),
      reply({ from: 'hal@prospect.test', to: 'match-exit@sender.test', inReplyTo: '<exit-0@sender.test>' }),
    ]);
    expect((await poller().pollMailbox(org, m)).read).toBe(2);
    expect(await state(goesOn!)).toEqual({ status: 'replied', pending: 1 });
    expect(await state(exits!)).toEqual({ status: 'replied', pending: 0 });
    const next = await t.admin.query(
      `SELECT e.next_run_at IS NOT NULL AS scheduled FROM outreach.campaign_enrollments e WHERE e.id = ANY ($1::uuid[]) ORDER BY e.id = $2 DESC`,
      [[goesOn, exits], goesOn],
    );
    expect(next.rows.map((r) => r.scheduled)).toEqual([true, false]);
  });
});
