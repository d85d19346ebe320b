import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setMailPassword, testMail } from '@prospectflow/testing';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { BATCH_SIZE, type InboundMessage } from '../src/mailboxes/inbox.js';
import { type InboundSink, MailboxPoller } from '../src/mailboxes/poller.js';
import { inboundSink } from '../src/outreach/inbound.js';
import { createCampaign, createOrg, createPositions, enroll, openTestDb, type TestDb } from './support/db.js';
import { startHugeLiteralImap, startTarpitImap } from './support/lying-imap.js';
import { connectMailbox, testImapClient, testMailServices } from './support/mailboxes.js';
import { silent, waitUntil } from './support/worker.js';

/**
 * The poller against real Dovecot and PostgreSQL: a message that cannot be applied does not block
 * the mailbox, failures are recorded, the first poll skips the inbox's history, batches commit
 * their progress, and text bodies are decoded (quoted-printable, charsets).
 */
describe('IMAP poller: poison messages, first poll, batches, bodies (real Dovecot)', () => {
  const mail = testMail();
  const clock = new ManualClock('2026-03-03T10:00:00Z');
  let t: TestDb;
  let pool: pg.Pool;
  let org: string;

  const poller = (apply: InboundSink, log = silent) =>
    new MailboxPoller({ pool, mail: testMailServices(), log, intervalMs: 60_000, apply });
  /** A sink that keeps what it is given (the poller's contract), for tests not about matching. */
  const collect =
    (into: InboundMessage[]): InboundSink =>
    async (_c, _m, message) => {
      into.push(message);
    };
  const mailbox = async (address: string) => {
    setMailPassword(mail, address, 'pw');
    return await connectMailbox(t.admin, org, {
      address,
      secrets: { imapPassword: 'pw', smtpPassword: 'pw' },
      verified: true,
    });
  };
  const append = async (address: string, raws: { raw: string; date?: Date }[]) => {
    const c = await testImapClient(address);
    for (const { raw, date } of raws) await c.append('INBOX', raw, [], date);
    await c.logout();
  };
  const message = (headers: string[], body: string) =>
    [
      ...headers,
      'MIME-Version: 1.0',
      ...(headers.some((h) => /^content-type/i.test(h)) ? [] : ['Content-Type: text/plain; charset=utf-8']),
      '',
      body,
      '',
    ].join('\r\n');
  const syncState = async (mailboxId: string) =>
    (
      await t.admin.query(
        `SELECT uid_validity IS NOT NULL AS has_checkpoint, last_uid::int, last_error, last_error_at IS NOT NULL AS error_time,
           skipped_messages::int, last_skip, last_polled_at IS NOT NULL AS caught_up
         FROM outreach.mailbox_sync_states WHERE mailbox_id = $1`,
        [mailboxId],
      )
    ).rows[0];

  beforeAll(async () => {
    t = await openTestDb('pollerinbox');
    pool = new pg.Pool({ connectionString: t.workerUrl, max: 4 });
    org = await createOrg(t.admin, 'poller-inbox-org');
  });
  afterAll(async () => {
    await pool?.end();
    await t?.close();
  });

  it('a reply the database refuses is skipped, counted and logged; the reply after it is applied', async () => {
    const address = 'poison@sender.test';
    const mailboxId = await mailbox(address);
    const campaign = await createCampaign(t.admin, org, mailboxId, [
      { delayDays: 0, subject: 'Hi', body: 'x' },
    ]);
    const positions = await createPositions(t.admin, org, [
      { email: 'ann@prospect.test' },
      { email: 'bob@prospect.test' },
    ]);
    const enrollments = await enroll(t.admin, org, campaign.id, positions, clock.now());
    for (const [i, enrollment] of enrollments.entries())
      await t.admin.query(
        `INSERT INTO outreach.messages (organisation_id, enrollment_id, step_id, mailbox_id, direction, status,
           message_id_header, to_address, subject, unsubscribe_token, sent_at)
         VALUES ($1, $2, $3, $4, 'outbound', 'sent', $5, $6, 'Hi', $7, now())`,
        [
          org,
          enrollment,
          campaign.steps[0]!.id,
          mailboxId,
          `<poison-${i}@sender.test>`,
          i ? 'bob@prospect.test' : 'ann@prospect.test',
          `unsubpoison${i}AAAAAAAAAAAAAAAAAAAA`.slice(0, 28),
        ],
      );
    const reply = (from: string, id: string, inReplyTo: string) =>
      message(
        [
          `From: ${from}`,
          `To: ${address}`,
          'Subject: Re: Hi',
          `Message-ID: ${id}`,
          `In-Reply-To: ${inReplyTo}`,
        ],
        'Yes',
      );
    // Every field is normalised before it is stored, so no mail a server hands over is refused
    // today: this trigger stands for a constraint a later migration may add (SQLSTATE class 23).
    await t.admin.query(`CREATE FUNCTION public.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.message_id_header = '<refused@prospect.test>' THEN
          RAISE EXCEPTION 'refused by a constraint' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await t.admin.query(
      `CREATE TRIGGER refuse_poison BEFORE INSERT ON outreach.messages FOR EACH ROW EXECUTE FUNCTION public.refuse_poison()`,
    );
    await append(address, [
      { raw: reply('ann@prospect.test', '<refused@prospect.test>', '<poison-0@sender.test>') },
      { raw: reply('bob@prospect.test', '<good@prospect.test>', '<poison-1@sender.test>') },
    ]);
    const lines: { level: number; msg: string; uid?: number; code?: string; mailboxId?: string }[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );

    const result = await poller(inboundSink(clock), log).pollMailbox(org, mailboxId);
    expect(result).toMatchObject({ read: 1, skipped: 1 });
    expect(result.error).toBeUndefined();
    const statuses = await t.admin.query<{ status: string }>(
      `SELECT status FROM outreach.campaign_enrollments WHERE id = ANY($1) ORDER BY id = $2 DESC`,
      [enrollments, enrollments[0]],
    );
    expect(statuses.rows.map((r) => r.status)).toEqual(['active', 'replied']);
    const state = await syncState(mailboxId);
    expect(state).toMatchObject({ last_uid: 2, skipped_messages: 1, last_error: null, caught_up: true });
    expect(state.last_skip).toMatch(/^uid 1: 23\w{3} /);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'imap poll: message skipped, it cannot be applied',
        uid: 1,
        mailboxId,
      }),
    );
    // Nothing is read again.
    expect(await poller(inboundSink(clock)).pollMailbox(org, mailboxId)).toMatchObject({
      read: 0,
      skipped: 0,
    });
    await t.admin.query(
      'DROP TRIGGER refuse_poison ON outreach.messages; DROP FUNCTION public.refuse_poison()',
    );
  });

  it('a poll that fails before any checkpoint exists records its error', async () => {
    setMailPassword(mail, 'refused@sender.test', 'pw');
    // The stored password is not the server's: the login is refused before INBOX is opened.
    const mailboxId = await connectMailbox(t.admin, org, {
      address: 'refused@sender.test',
      secrets: { imapPassword: 'not-the-password', smtpPassword: 'pw' },
      verified: true,
    });
    const result = await poller(collect([])).pollMailbox(org, mailboxId);
    expect(result.error).toBe('auth');
    expect(await syncState(mailboxId)).toMatchObject({
      has_checkpoint: false,
      last_uid: 0,
      last_error: expect.stringMatching(/^auth: /),
      error_time: true,
      caught_up: false,
    });
  });

  it("the first poll does not read the inbox's history from before the mailbox's verification", async () => {
    const address = 'history@sender.test';
    const mailboxId = await mailbox(address);
    const old = new Date('2020-05-01T12:00:00Z');
    await append(
      address,
      Array.from({ length: 30 }, (_, i) => ({
        raw: message(
          [
            `From: old${i}@elsewhere.test`,
            `To: ${address}`,
            `Subject: Old ${i}`,
            `Message-ID: <old-${i}@elsewhere.test>`,
          ],
          'old',
        ),
        date: old,
      })),
    );
    await append(address, [
      {
        raw: message(
          [`From: new@prospect.test`, `To: ${address}`, 'Subject: New', 'Message-ID: <new-1@prospect.test>'],
          'new',
        ),
      },
    ]);
    const seen: InboundMessage[] = [];
    expect(await poller(collect(seen)).pollMailbox(org, mailboxId)).toMatchObject({ read: 1 });
    expect(seen.map((m) => m.messageId)).toEqual(['<new-1@prospect.test>']);
    expect(await syncState(mailboxId)).toMatchObject({ last_uid: 31 });

    // A mailbox with only history: the checkpoint starts after it, and the next message is read.
    const quiet = 'quiet@sender.test';
    const quietId = await mailbox(quiet);
    await append(quiet, [
      {
        raw: message([`From: a@elsewhere.test`, `To: ${quiet}`, 'Message-ID: <q-old@elsewhere.test>'], 'x'),
        date: old,
      },
    ]);
    const quietSeen: InboundMessage[] = [];
    expect(await poller(collect(quietSeen)).pollMailbox(org, quietId)).toMatchObject({ read: 0 });
    expect(await syncState(quietId)).toMatchObject({ last_uid: 1 });
    await append(quiet, [
      { raw: message([`From: b@prospect.test`, `To: ${quiet}`, 'Message-ID: <q-new@prospect.test>'], 'y') },
    ]);
    expect(await poller(collect(quietSeen)).pollMailbox(org, quietId)).toMatchObject({ read: 1 });
    expect(quietSeen.map((m) => m.messageId)).toEqual(['<q-new@prospect.test>']);
  });

  it('an INBOX recreated on the server (new UIDVALIDITY) is re-read from shortly before the last poll, not whole', async () => {
    const address = 'reset@sender.test';
    const mailboxId = await mailbox(address);
    const raw = (i: number) =>
      message([`From: r${i}@prospect.test`, `To: ${address}`, `Message-ID: <reset-${i}@prospect.test>`], 'x');
    // Verified in 2020: the first poll reads the 2021 messages too (received since verification).
    await t.admin.query(`UPDATE outreach.mailboxes SET verified_at = '2020-01-01T00:00:00Z' WHERE id = $1`, [
      mailboxId,
    ]);
    await append(
      address,
      [1, 2, 3].map((i) => ({ raw: raw(i), date: new Date('2021-02-01T12:00:00Z') })),
    );
    await append(address, [{ raw: raw(0) }]);
    const seen: InboundMessage[] = [];
    expect(await poller(collect(seen)).pollMailbox(org, mailboxId)).toMatchObject({ read: 4 });
    // The server loses its UID list and indexes: every message gets a new UID under a new
    // UIDVALIDITY (Dovecot takes the current second: wait for the next one after the first).
    const before = (
      await t.admin.query(
        `SELECT uid_validity::bigint AS v FROM outreach.mailbox_sync_states WHERE mailbox_id = $1`,
        [mailboxId],
      )
    ).rows[0]!.v;
    await waitUntil(
      () => Date.now() / 1000 > Number(before) + 1,
      'a second after the first UIDVALIDITY',
      5_000,
    );
    const maildir = path.join(mail.dir, 'home', address, 'Maildir');
    for (const f of fs.readdirSync(maildir))
      if (f.startsWith('dovecot')) fs.rmSync(path.join(maildir, f), { force: true });
    const again: InboundMessage[] = [];
    expect(await poller(collect(again)).pollMailbox(org, mailboxId)).toMatchObject({ read: 1 });
    expect(again.map((m) => m.messageId)).toEqual(['<reset-0@prospect.test>']);
    expect(await syncState(mailboxId)).toMatchObject({ last_uid: 4 });
    const after = await t.admin.query(
      `SELECT uid_validity::bigint AS v FROM outreach.mailbox_sync_states WHERE mailbox_id = $1`,
      [mailboxId],
    );
    expect(after.rows[0]!.v).not.toBe(before);
  });

  it('a connection change committed during a poll keeps the old INBOX checkpoint from being written back', async () => {
    const address = 'moved@sender.test';
    const mailboxId = await mailbox(address);
    await append(address, [
      {
        raw: message(['From: a@prospect.test', `To: ${address}`, 'Message-ID: <moved-1@prospect.test>'], 'x'),
      },
    ]);
    // While the poll applies the message, the API commits a change to another IMAP account: the
    // connection's version goes up and the checkpoints are dropped (ingest-api, mailboxes update).
    const changeDuringPoll: InboundSink = async () => {
      await t.admin.query(
        'UPDATE outreach.mailboxes SET credentials_version = credentials_version + 1 WHERE id = $1',
        [mailboxId],
      );
      await t.admin.query(
        'UPDATE outreach.mailbox_sync_states SET uid_validity = NULL, last_uid = 0 WHERE mailbox_id = $1',
        [mailboxId],
      );
    };
    expect(await poller(changeDuringPoll).pollMailbox(org, mailboxId)).toMatchObject({ read: 1 });
    // No checkpoint of the old account: the new INBOX is read from its start window, not after UID 1.
    expect((await syncState(mailboxId))?.has_checkpoint ?? false).toBe(false);
    // The next poll (with the new version) writes its own.
    const seen: InboundMessage[] = [];
    expect(await poller(collect(seen)).pollMailbox(org, mailboxId)).toMatchObject({ read: 1 });
    expect(await syncState(mailboxId)).toMatchObject({ has_checkpoint: true, last_uid: 1 });
  });

  it('reads in batches that each commit the checkpoint, so a failure mid-way keeps the progress', async () => {
    const address = 'batches@sender.test';
    const mailboxId = await mailbox(address);
    const total = BATCH_SIZE * 2 + 50;
    await append(
      address,
      Array.from({ length: total }, (_, i) => ({
        raw: message(
          [
            `From: p${i}@prospect.test`,
            `To: ${address}`,
            `Subject: Re ${i}`,
            `Message-ID: <b-${i}@prospect.test>`,
          ],
          `reply ${i}`,
        ),
      })),
    );
    const seen: InboundMessage[] = [];
    // Down on a message of the second batch (not the message's fault): the first batch stays read.
    const failing: InboundSink = async (_c, _m, m) => {
      if (m.uid === BATCH_SIZE + 10)
        throw Object.assign(new Error('connection terminated'), { code: '57P01' });
      seen.push(m);
    };
    const first = await poller(failing).pollMailbox(org, mailboxId);
    expect(first).toMatchObject({ read: BATCH_SIZE, skipped: 0, error: 'error' });
    expect(await syncState(mailboxId)).toMatchObject({
      last_uid: BATCH_SIZE,
      last_error: expect.stringContaining('connection terminated'),
    });

    const rest: InboundMessage[] = [];
    const second = await poller(collect(rest)).pollMailbox(org, mailboxId);
    expect(second).toMatchObject({ read: total - BATCH_SIZE, skipped: 0 });
    // Each UID exactly once across the two polls, in order; the batch rolled back is read again whole.
    const uids = [...seen.filter((m) => m.uid <= BATCH_SIZE), ...rest].map((m) => m.uid);
    expect(uids).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Per batch one FETCH of structures and one of bodies, not a command per message.
    expect(second.roundTrips).toBeLessThan(20);
    expect(await syncState(mailboxId)).toMatchObject({ last_uid: total, last_error: null, caught_up: true });
    expect(rest.at(-1)!.text?.trim()).toBe(`reply ${total - 1}`);
  });

  it('decodes quoted-printable and base64 text in its charset', async () => {
    const address = 'bodies@sender.test';
    const mailboxId = await mailbox(address);
    const head = (id: string, type: string, encoding: string) => [
      'From: fay@prospect.test',
      `To: ${address}`,
      'Subject: Re: Hi',
      `Message-ID: <${id}@prospect.test>`,
      `Content-Type: ${type}`,
      `Content-Transfer-Encoding: ${encoding}`,
    ];
    await append(address, [
      {
        raw: message(
          head('qp-utf8', 'text/plain; charset=utf-8', 'quoted-printable'),
          'Tr=C3=A8s int=C3=A9ress=C3=A9e, parlons-=\r\nen.',
        ),
      },
      {
        raw: message(head('qp-latin1', 'text/plain; charset=iso-8859-1', 'quoted-printable'), 'D=E9j=E0 vu'),
      },
      {
        raw: message(
          head('b64', 'text/plain; charset="utf-8"', 'base64'),
          Buffer.from('Ça marche très bien').toString('base64'),
        ),
      },
      {
        raw: message(
          [...head('multi', 'multipart/alternative; boundary="b1"', '7bit')],
          [
            '--b1',
            'Content-Type: text/plain; charset=utf-8',
            'Content-Transfer-Encoding: quoted-printable',
            '',
            'R=C3=A9ponse',
            '--b1',
            'Content-Type: text/html',
            '',
            '<p>R&eacute;ponse</p>',
            '--b1--',
          ].join('\r\n'),
        ),
      },
    ]);
    const seen: InboundMessage[] = [];
    expect(await poller(collect(seen)).pollMailbox(org, mailboxId)).toMatchObject({ read: 4 });
    expect(Object.fromEntries(seen.map((m) => [m.messageId, m.text?.trim()]))).toEqual({
      '<qp-utf8@prospect.test>': 'Très intéressée, parlons-en.',
      '<qp-latin1@prospect.test>': 'Déjà vu',
      '<b64@prospect.test>': 'Ça marche très bien',
      '<multi@prospect.test>': 'Réponse',
    });
  });
});

describe("IMAP poller: a user's server that never finishes answering (real Dovecot beside it)", () => {
  const mail = testMail();
  let t: TestDb;
  let pool: pg.Pool;

  beforeAll(async () => {
    t = await openTestDb('pollertarpit');
    pool = new pg.Pool({ connectionString: t.workerUrl, max: 4 });
  });
  afterAll(async () => {
    await pool?.end();
    await t?.close();
  });

  it('a literal of 64 MB is refused at its announcement, not read into memory', async () => {
    const huge = await startHugeLiteralImap(64 * 1024 * 1024);
    try {
      const org = await createOrg(t.admin, 'huge-literal-org');
      const mailboxId = await connectMailbox(t.admin, org, {
        address: 'huge@sender.test',
        secrets: { imapPassword: 'pw', smtpPassword: 'pw' },
        imap: { port: huge.port },
        verified: true,
      });
      const poller = new MailboxPoller({
        pool,
        mail: testMailServices(),
        log: silent,
        intervalMs: 60_000,
        apply: async () => {},
      });
      const result = await poller.pollMailbox(org, mailboxId);
      expect(huge.commands.some((c) => / FETCH /i.test(c))).toBe(true);
      expect(result).toMatchObject({ read: 0, error: expect.any(String) });
      // What left the server before the worker hung up: socket buffers, not the 64 MB.
      expect(huge.bytesTaken()).toBeLessThan(24 * 1024 * 1024);
    } finally {
      await huge.close();
    }
  });

  /**
   * Two organisations: one points its mailbox at a server that answers a byte at a time (never
   * idle, so no socket timeout ends its poll), the other's mailbox is a real one. The poller runs
   * until `check` returns; `reply` delivers a reply to the real mailbox once the other poll hangs.
   */
  async function withHangingMailbox(
    label: string,
    timing: { intervalMs: number; pollTimeoutMs: number },
    check: (run: {
      poller: MailboxPoller;
      reply: () => Promise<void>;
      replyRead: () => Promise<void>;
      lastError: () => Promise<string | null>;
    }) => Promise<void>,
  ): Promise<void> {
    const pit = await startTarpitImap();
    const seen: InboundMessage[] = [];
    const poller = new MailboxPoller({
      pool,
      mail: testMailServices(),
      log: silent,
      ...timing,
      apply: async (_c, _m, message) => {
        seen.push(message);
      },
    });
    const address = `${label}@sender.test`;
    const subject = `Re: ${label}`;
    try {
      const pitted = await connectMailbox(t.admin, await createOrg(t.admin, `${label}-tarpit-org`), {
        address: `${label}-pit@sender.test`,
        secrets: { imapPassword: 'pw', smtpPassword: 'pw' },
        imap: { port: pit.port },
        verified: true,
      });
      setMailPassword(mail, address, 'pw');
      await connectMailbox(t.admin, await createOrg(t.admin, `${label}-org`), {
        address,
        secrets: { imapPassword: 'pw', smtpPassword: 'pw' },
        verified: true,
      });
      poller.start();
      await check({
        poller,
        reply: async () => {
          // The first round reads the real INBOX (empty) while the other poll hangs; then a reply comes.
          await waitUntil(
            async () => pit.commands.some((c) => / SEARCH /i.test(c)),
            'the hanging search',
            10_000,
          );
          const client = await testImapClient(address);
          await client.append(
            'INBOX',
            `From: p@prospect.test\r\nTo: ${address}\r\nSubject: ${subject}\r\nMessage-ID: <${label}-reply@prospect.test>\r\n\r\nYes\r\n`,
          );
          await client.logout();
        },
        replyRead: () =>
          waitUntil(async () => seen.some((m) => m.subject === subject), 'the reply read', 15_000),
        lastError: async () =>
          (
            await t.admin.query<{ last_error: string | null }>(
              'SELECT last_error FROM outreach.mailbox_sync_states WHERE mailbox_id = $1',
              [pitted],
            )
          ).rows[0]?.last_error ?? null,
      });
    } finally {
      await pit.close();
      await poller.stop();
    }
  }

  it('keeps its pace while a poll hangs: another mailbox is read again within the interval, before the hanging poll is cut', async () => {
    // Rounds used to wait for their slowest poll: one hanging server delayed every other mailbox's
    // next read until its poll was cut (POLL_TIMEOUT_MS, 2 min by default).
    await withHangingMailbox('pace', { intervalMs: 300, pollTimeoutMs: 120_000 }, async (run) => {
      await run.reply();
      await run.replyRead();
      // The hanging poll is still running (not cut, no error recorded): the reply did not wait for it.
      expect(run.poller.polling.running).toBeGreaterThanOrEqual(1);
      expect(await run.lastError()).toBeNull();
    });
  });

  it("is cut off at the poll deadline: the rounds go on, and another organisation's reply is read", async () => {
    await withHangingMailbox('bystander', { intervalMs: 100, pollTimeoutMs: 1_500 }, async (run) => {
      await run.reply();
      await run.replyRead();
      await waitUntil(async () => (await run.lastError()) !== null, 'the hanging poll cut', 10_000);
      expect(await run.lastError()).toMatch(/^timeout: the poll did not finish within 2 s/);
    });
  });
});
