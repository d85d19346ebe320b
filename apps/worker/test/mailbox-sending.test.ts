import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setMailPassword, startTestDns, testMail } from '@prospectflow/testing';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertProvenSender, MailboxSender, type SendingMailbox } from '../src/mailboxes/sender.js';
import { findInSent, sentFolderOf } from '../src/mailboxes/sent-folder.js';
import type { MailServices } from '../src/mailboxes/services.js';
import { classifySmtpError } from '../src/mailboxes/smtp-errors.js';
import { MailboxTransports } from '../src/mailboxes/transports.js';
import { createSmtpMailer, type OutgoingMail } from '../src/outreach/mailer.js';
import { unsubscribeHeaders } from '../src/outreach/send/compose.js';
import { createOrg, openTestDb, type TestDb } from './support/db.js';
import { verifyDkim } from './support/dkim.js';
import { startTarpitImap } from './support/lying-imap.js';
import {
  connectMailbox,
  messageIdsIn,
  proveSendingDomain,
  testDkimKey,
  testMailServices,
} from './support/mailboxes.js';
import { type SmtpSink, startRefusingSmtp, startSmtpSink, startTarpitSmtp } from './support/smtp.js';
import { waitUntil } from './support/worker.js';

const mail = testMail();

const outgoing = (from: string, to: string, tag = randomUUID()): OutgoingMail => ({
  from: { name: 'Sales', address: from },
  to,
  subject: `Hello ${tag}`,
  text: 'Hello there',
  messageId: `<${tag}@pf.test>`,
  headers: {},
});

/** What nodemailer throws (or rejects per recipient) when the real test SMTP server answers. */
async function failureFrom(user: string, pass: string, from: string, to: string): Promise<unknown> {
  const transport = nodemailer.createTransport({
    host: mail.host,
    port: mail.smtpPort,
    secure: false,
    ignoreTLS: true,
    auth: { user, pass },
  });
  try {
    await transport.sendMail({ from, to, subject: 's', text: 't' });
    return undefined;
  } catch (error) {
    return error;
  } finally {
    transport.close();
  }
}

describe('SMTP failures classified from the real test server', () => {
  beforeAll(() => setMailPassword(mail, 'classify@sender.test', 'pw'));

  it.each([
    ['a 4xx at RCPT (451) → retry', 'defer-x@rcpt.test', 'pw', 'classify@sender.test', 'retry'],
    ['a 550 at RCPT → bounce', 'reject-x@rcpt.test', 'pw', 'classify@sender.test', 'bounce'],
    ['a 551 at RCPT → bounce', 'gone-x@rcpt.test', 'pw', 'classify@sender.test', 'bounce'],
    [
      'a 554 after DATA → rejected (no suppression)',
      'spam-x@rcpt.test',
      'pw',
      'classify@sender.test',
      'rejected',
    ],
    ['a 535 at AUTH → auth (mailbox error)', 'ok@rcpt.test', 'wrong', 'classify@sender.test', 'auth'],
    ['a 553 at MAIL FROM (not our address) → auth', 'ok@rcpt.test', 'pw', 'other@sender.test', 'auth'],
    // nodemailer calls every failed AUTH EAUTH: a temporary refusal must not put the mailbox in error.
    ['a 454 at AUTH (login throttled) → retry', 'ok@rcpt.test', 'pw', 'throttled-x@sender.test', 'retry'],
  ])('%s', async (_label, to, pass, from, kind) => {
    const user = from.startsWith('throttled-') ? from : 'classify@sender.test';
    const error = await failureFrom(user, pass, from, to);
    expect(error).toBeDefined();
    expect(classifySmtpError(error).kind).toBe(kind);
  });

  it('keeps the server answer as detail and the code for bounces', async () => {
    const failure = classifySmtpError(
      await failureFrom('classify@sender.test', 'pw', 'classify@sender.test', 'reject-y@rcpt.test'),
    );
    expect(failure).toMatchObject({ kind: 'bounce', responseCode: 550 });
    expect(failure.detail).toContain('5.1.1');
  });

  it('treats connection failures and timeouts as retry, 5.7.x at AUTH as auth', () => {
    expect(classifySmtpError(Object.assign(new Error('x'), { code: 'ECONNECTION' })).kind).toBe('retry');
    expect(classifySmtpError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })).kind).toBe('retry');
    expect(
      classifySmtpError({
        code: 'EENVELOPE',
        command: 'AUTH LOGIN',
        responseCode: 550,
        response: '550 5.7.30 Basic authentication is not supported',
      }).kind,
    ).toBe('auth');
    expect(classifySmtpError({ code: 'EOAUTH2', message: 'invalid_grant' }).kind).toBe('auth');
  });
});

/** What nodemailer throws when a server on 127.0.0.1:`port` refuses (no AUTH, plain text). */
async function failureAt(port: number, to = 'someone@rcpt.test'): Promise<unknown> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ from: 'refused@sender.test', to, subject: 's', text: 't' });
    return undefined;
  } catch (error) {
    return error;
  } finally {
    transport.close();
  }
}

describe('SMTP refusals of the client itself, and policy refusals at RCPT (real servers)', () => {
  // A server refusing us before any envelope says nothing about the recipient: the mailbox's problem.
  it.each([
    [
      'a 550 greeting (our IP not allowed)',
      'CONN',
      { greeting: '550 5.7.1 Access denied: your IP is not allowed' },
    ],
    [
      'a 554 greeting (client host blocked)',
      'CONN',
      { greeting: '554 5.7.1 client host [192.0.2.1] blocked' },
    ],
    [
      'EHLO and HELO refused with 5xx',
      'HELO',
      { greeting: '220 mx.test ESMTP', ehlo: '550 5.7.1 not welcome', helo: '550 5.7.1 not welcome' },
    ],
  ])('%s → auth (mailbox error), neither bounce nor rejected', async (_label, command, answers) => {
    const server = await startRefusingSmtp(answers);
    try {
      const error = await failureAt(server.port);
      expect(error).toMatchObject({ command });
      expect(classifySmtpError(error)).toEqual({
        kind: 'auth',
        detail: expect.stringMatching(/^55[04] 5\.7\.1/),
      });
    } finally {
      await server.close();
    }
  });

  it('a 421 greeting (busy) retries', async () => {
    const server = await startRefusingSmtp({ greeting: '421 4.7.0 too many connections, try later' });
    try {
      expect(classifySmtpError(await failureAt(server.port)).kind).toBe('retry');
    } finally {
      await server.close();
    }
  });

  it('a 5.7.x at RCPT (sender blocklisted) → rejected: the message fails, the address is not bounced', async () => {
    const sink = await startSmtpSink({
      rcpt: () => ({
        code: 550,
        message: '5.7.1 Service unavailable; client host [192.0.2.1] blocked using Spamhaus',
      }),
    });
    try {
      const failure = classifySmtpError(await failureAt(sink.port));
      expect(failure).toMatchObject({ kind: 'rejected', responseCode: 550 });
      expect(failure.detail).toContain('Spamhaus');
      // The same code with a mailbox status (5.1.1) is still the recipient's: a bounce.
      sink.setRcpt(() => ({ code: 550, message: '5.1.1 no such user' }));
      expect(classifySmtpError(await failureAt(sink.port)).kind).toBe('bounce');
    } finally {
      await sink.close();
    }
  });
});

describe('MailboxTransports: one pool per mailbox and credentials version (real SMTP sink)', () => {
  let sink: SmtpSink;
  let slowSink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
    // Holds each DATA: sends stay in flight (and queue behind a one-connection pool) meanwhile.
    slowSink = await startSmtpSink({ dataDelayMs: 300 });
  });
  afterAll(async () => {
    await sink?.close();
    await slowSink?.close();
  });

  const optionsFor =
    (server: () => SmtpSink, buildDelayMs = 0): (() => Promise<SMTPPool.Options>) =>
    async () => {
      // Opening secrets and resolving the host take time: a build is a window like a send.
      if (buildDelayMs) await new Promise((r) => setTimeout(r, buildDelayMs));
      return { pool: true, host: '127.0.0.1', port: server().port, ignoreTLS: true, maxConnections: 1 };
    };
  const options = optionsFor(() => sink);
  const send = (tag: string) => (t: Transporter) =>
    t.sendMail({ from: 'pool@sender.test', to: `${tag}@rcpt.test`, subject: tag, text: tag });
  const transportOf = async (t: Transporter) => t;
  const isClosed = (t: Transporter) => (t.transporter as unknown as { _closed: boolean })._closed;

  it('reuses the pool, rebuilds it on a new credentials version and closes the old one', async () => {
    const pools = new MailboxTransports();
    let built = 0;
    const build = () => {
      built += 1;
      return options();
    };
    const a = await pools.use('m1', 1, build, transportOf);
    expect(await pools.use('m1', 1, build, transportOf)).toBe(a);
    expect(built).toBe(1);
    const b = await pools.use('m1', 2, build, transportOf);
    expect(b).not.toBe(a);
    expect(built).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(isClosed(a)).toBe(true);
    expect(isClosed(b)).toBe(false);
    pools.closeAll();
  });

  it('a new credentials version closes the old pool only after its sends in flight finish', async () => {
    const pools = new MailboxTransports();
    const slow = optionsFor(() => slowSink);
    let old: Transporter | undefined;
    const inFlight = pools.use('m1', 1, slow, (t) => {
      old = t;
      return send('old-version')(t);
    });
    await waitUntil(() => old !== undefined, 'the first send to hold its pool');
    const fresh = await pools.use('m1', 2, slow, transportOf);
    expect(fresh).not.toBe(old);
    expect(isClosed(old!)).toBe(false);
    expect((await inFlight).response).toMatch(/^250/);
    await new Promise((r) => setImmediate(r));
    expect(isClosed(old!)).toBe(true);
    expect(isClosed(fresh)).toBe(false);
    pools.closeAll();
  });

  it('the bound does not close a pool still being built: the send waiting for it goes out', async () => {
    const pools = new MailboxTransports({ maxMailboxes: 1 });
    const a = pools.use(
      'a',
      1,
      optionsFor(() => sink, 50),
      send('built-slowly'),
    );
    expect((await pools.use('b', 1, options, send('other-mailbox'))).response).toMatch(/^250/);
    expect((await a).response).toMatch(/^250/);
    // The overshoot while both were busy is taken back once they are idle.
    expect(pools.size).toBe(1);
    pools.closeAll();
  });

  it('the bound does not close a pool with sends queued in it: they all go out', async () => {
    const pools = new MailboxTransports({ maxMailboxes: 1 });
    const slow = optionsFor(() => slowSink);
    const tags = ['queued-1', 'queued-2', 'queued-3'];
    // One connection: the second and third wait in the pool's queue behind the first.
    const queued = tags.map((tag) => pools.use('a', 1, slow, send(tag)));
    expect((await pools.use('b', 1, options, send('evicting'))).response).toMatch(/^250/);
    for (const result of await Promise.all(queued)) expect(result.response).toMatch(/^250/);
    expect(slowSink.mails.map((m) => m.parsed.subject)).toEqual(expect.arrayContaining(tags));
    expect(pools.size).toBe(1);
    pools.closeAll();
  });

  it('is bounded (least recently used idle pool closed first) and closes idle pools', async () => {
    let now = 0;
    const pools = new MailboxTransports({ maxMailboxes: 2, idleMs: 1000, now: () => now });
    const m1 = await pools.use('m1', 1, options, transportOf);
    const m2 = await pools.use('m2', 1, options, transportOf);
    expect(await pools.use('m1', 1, options, transportOf)).toBe(m1); // m1 now most recent
    await pools.use('m3', 1, options, transportOf); // evicts m2
    expect(pools.size).toBe(2);
    expect(isClosed(m2)).toBe(true);
    expect(isClosed(m1)).toBe(false);
    let rebuilt = 0;
    const build = () => {
      rebuilt += 1;
      return options();
    };
    await pools.use('m2', 1, build, transportOf);
    expect(rebuilt).toBe(1);
    now = 5000;
    pools.closeIdle();
    expect(pools.size).toBe(0);
    pools.closeAll();
  });

  it('does not cache a failed build', async () => {
    const pools = new MailboxTransports();
    await expect(
      pools.use('m1', 1, () => Promise.reject(new Error('blocked host')), transportOf),
    ).rejects.toThrow('blocked host');
    expect(pools.size).toBe(0);
    pools.closeAll();
  });
});

describe('MailboxSender: mail leaves only under a proved address', () => {
  let t: TestDb;
  let org: string;
  let workerPool: pg.Pool;
  let services: MailServices;
  let relaySink: SmtpSink;
  let sender: MailboxSender;

  const row = async (id: string): Promise<SendingMailbox> =>
    (
      await t.admin.query<SendingMailbox>(
        `SELECT id, organisation_id, provider, from_address, verification_status, credentials_version
         FROM outreach.mailboxes WHERE id = $1`,
        [id],
      )
    ).rows[0]!;

  beforeAll(async () => {
    t = await openTestDb('sending');
    org = await createOrg(t.admin, 'sending-org');
    workerPool = new pg.Pool({ connectionString: t.workerUrl, max: 4 });
    services = testMailServices();
    relaySink = await startSmtpSink();
    sender = new MailboxSender(services, createSmtpMailer({ url: relaySink.url }));
  });
  afterAll(async () => {
    sender?.close();
    await relaySink?.close();
    await workerPool?.end();
    await t?.close();
  });

  it('sends a verified mailbox through its own SMTP account; the Sent folder shows it', async () => {
    setMailPassword(mail, 'own@sender.test', 'pw');
    const id = await connectMailbox(t.admin, org, {
      address: 'own@sender.test',
      secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
      verified: true,
    });
    const message = outgoing('own@sender.test', 'prospect1@rcpt.test');
    const result = await sender.send(workerPool, await row(id), message);
    expect(result.response).toMatch(/^250/);
    expect(await messageIdsIn('prospect1@rcpt.test', 'INBOX')).toContain(message.messageId);
    expect(relaySink.mails).toHaveLength(0);
    const check = await sender.findSent(workerPool, await row(id), message.messageId);
    expect(check).toMatchObject({ found: true, folder: 'Sent' });
    expect(check!.roundTrips).toBeGreaterThan(0);
    expect((await sender.findSent(workerPool, await row(id), `<${randomUUID()}@pf.test>`))?.found).toBe(
      false,
    );
  });

  it('finds nothing in Sent for a provider that does not file submissions there', async () => {
    setMailPassword(mail, 'nosent-own@sender.test', 'pw');
    const id = await connectMailbox(t.admin, org, {
      address: 'nosent-own@sender.test',
      secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
      verified: true,
    });
    const message = outgoing('nosent-own@sender.test', 'prospect2@rcpt.test');
    await sender.send(workerPool, await row(id), message);
    expect((await sender.findSent(workerPool, await row(id), message.messageId))?.found).toBe(false);
  });

  it('refuses an unverified mailbox and a From that is not the mailbox, before connecting', async () => {
    setMailPassword(mail, 'unproved@sender.test', 'pw');
    const id = await connectMailbox(t.admin, org, {
      address: 'unproved@sender.test',
      secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
    });
    const unverified = outgoing('unproved@sender.test', 'prospect3@rcpt.test');
    const error = await sender.send(workerPool, await row(id), unverified).catch((e) => e);
    expect(error).toMatchObject({ code: 'EUNPROVEN' });
    expect(classifySmtpError(error).kind).toBe('unproven');
    expect(await messageIdsIn('prospect3@rcpt.test', 'INBOX')).not.toContain(unverified.messageId);

    const verified = await row(
      await connectMailbox(t.admin, org, {
        address: 'proved@sender.test',
        secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
        verified: true,
      }),
    );
    expect(() => assertProvenSender(verified, outgoing('ceo@bank.test', 'x@rcpt.test'))).toThrow(
      /not the address/,
    );
  });

  it('stops using a mailbox whose verification was withdrawn after its pool was built', async () => {
    setMailPassword(mail, 'withdrawn@sender.test', 'pw');
    const id = await connectMailbox(t.admin, org, {
      address: 'withdrawn@sender.test',
      secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
      verified: true,
    });
    await sender.send(workerPool, await row(id), outgoing('withdrawn@sender.test', 'prospect4@rcpt.test'));
    // What the API does on a credentials change: a new version, unverified until checked again.
    await t.admin.query(
      `UPDATE outreach.mailboxes SET credentials_version = credentials_version + 1, verification_status = 'unverified', verified_at = NULL WHERE id = $1`,
      [id],
    );
    await expect(
      sender.send(workerPool, await row(id), outgoing('withdrawn@sender.test', 'p5@rcpt.test')),
    ).rejects.toMatchObject({
      code: 'EUNPROVEN',
    });
  });

  it('uses the new password after a credentials rotation (new pool), the old pool is gone', async () => {
    setMailPassword(mail, 'rotate@sender.test', 'old-pw');
    const id = await connectMailbox(t.admin, org, {
      address: 'rotate@sender.test',
      secrets: { smtpPassword: 'old-pw', imapPassword: 'old-pw' },
      verified: true,
    });
    await sender.send(workerPool, await row(id), outgoing('rotate@sender.test', 'p6@rcpt.test'));
    setMailPassword(mail, 'rotate@sender.test', 'new-pw');
    const { testBox } = await import('./support/mailboxes.js');
    const { mailboxSecretBinding } = await import('@prospectflow/mailboxes');
    const sealed = await testBox().sealJson(
      { smtpPassword: 'new-pw', imapPassword: 'new-pw' },
      mailboxSecretBinding(org, id),
    );
    await t.admin.query(
      `UPDATE outreach.mailboxes SET secret_ciphertext = $2, secret_wrapped_key = $3, secret_key_id = $4,
         credentials_version = credentials_version + 1 WHERE id = $1`,
      [id, sealed.ciphertext, sealed.wrappedKey, sealed.keyId],
    );
    const message = outgoing('rotate@sender.test', 'p7@rcpt.test');
    expect((await sender.send(workerPool, await row(id), message)).response).toMatch(/^250/);
    expect(await messageIdsIn('p7@rcpt.test', 'INBOX')).toContain(message.messageId);
  });

  it('a pool whose server stopped answering is rebuilt: a provider that moved its host is reached at its new address', async () => {
    // The pool connects to the address checked when it was built (DNS rebinding): after a failed
    // connection the next send resolves the host again. 127.0.0.2 is loopback too on Linux.
    const received: string[] = [];
    const serve = (host: string, port: number) => {
      const server = new SMTPServer({
        logger: false,
        closeTimeout: 100,
        disabledCommands: ['STARTTLS'],
        allowInsecureAuth: true,
        onAuth: (_auth, _session, callback) => callback(null, { user: 'moving' }),
        onData(stream, _session, callback) {
          stream.resume();
          stream.on('end', () => {
            received.push(host);
            callback();
          });
        },
      });
      return new Promise<SMTPServer>((resolve) => server.listen(port, host, () => resolve(server)));
    };
    const dns = await startTestDns();
    const old = await serve('127.0.0.1', 0);
    const port = (old.server.address() as AddressInfo).port;
    dns.setAddresses('smtp.moving.test', ['127.0.0.1']);
    const moving = new MailboxSender(
      testMailServices({ hostAllowList: ['127.0.0.1', '127.0.0.2'], dnsServers: [dns.server] }),
      createSmtpMailer({ url: relaySink.url }),
    );
    let moved: SMTPServer | undefined;
    try {
      const id = await connectMailbox(t.admin, org, {
        address: 'moving@sender.test',
        secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
        smtp: { host: 'smtp.moving.test', port },
        verified: true,
      });
      await moving.send(workerPool, await row(id), outgoing('moving@sender.test', 'p11@rcpt.test'));
      await new Promise<void>((resolve) => old.close(() => resolve()));
      moved = await serve('127.0.0.2', port);
      dns.setAddresses('smtp.moving.test', ['127.0.0.2']);
      const outcomes: string[] = [];
      for (const to of ['p12@rcpt.test', 'p13@rcpt.test', 'p14@rcpt.test'])
        outcomes.push(
          await moving.send(workerPool, await row(id), outgoing('moving@sender.test', to)).then(
            () => 'sent',
            (error) => classifySmtpError(error).kind,
          ),
        );
      // The old address refuses (a retry, nothing sent); the sends after it go to the new one.
      expect(outcomes).toEqual(['retry', 'sent', 'sent']);
      expect(received).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.2']);
    } finally {
      moving.close();
      if (moved) await new Promise<void>((resolve) => moved!.close(() => resolve()));
      await dns.close();
    }
  });

  it('a server that answers a byte at a time cannot hold a send: it ends at the deadline as a retry, the pool dropped', async () => {
    const pit = await startTarpitSmtp();
    // Connection timeouts of 0.5 s: the submission's deadline is 2 s (the socket timeout, 60 s, never fires).
    const services = testMailServices({}, 500);
    const slow = new MailboxSender(services, createSmtpMailer({ url: relaySink.url }));
    try {
      const id = await connectMailbox(t.admin, org, {
        address: 'tarpit@sender.test',
        secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
        smtp: { port: pit.port },
        verified: true,
      });
      const started = Date.now();
      const error = await slow
        .send(workerPool, await row(id), outgoing('tarpit@sender.test', 'p15@rcpt.test'))
        .catch((e) => e);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(pit.messages).toBe(1);
      expect(error).toMatchObject({ code: 'ETIMEDOUT', message: expect.stringContaining('within 2 s') });
      // Retried, and the resend looks in the Sent folder first (the server may have taken it).
      expect(classifySmtpError(error).kind).toBe('retry');
      expect(services.transports.size).toBe(0);
    } finally {
      slow.close();
      await pit.close();
    }
  });

  it('DKIM-signs List-Unsubscribe and List-Unsubscribe-Post on relay mail (RFC 8058 one-click)', async () => {
    await proveSendingDomain(t.admin, org, 'one-click.test');
    const relayId = await connectMailbox(t.admin, org, {
      address: 'team@one-click.test',
      provider: 'relay',
      verified: true,
    });
    const message = {
      ...outgoing('team@one-click.test', 'p10@rcpt.test'),
      headers: unsubscribeHeaders('https://pf.example.test', 'tok123', 'team@one-click.test'),
    };
    await sender.send(workerPool, await row(relayId), message);
    const raw = relaySink.mails.find((m) => m.parsed.messageId === message.messageId)!.raw;
    const record = testDkimKey('one-click.test').recordValue;
    const check = verifyDkim(raw, record);
    expect(check.signed).toEqual(
      expect.arrayContaining(['list-unsubscribe', 'list-unsubscribe-post', 'from']),
    );
    expect(check).toMatchObject({ bodyHashOk: true, signatureOk: true });
    // Covered: a List-Unsubscribe-Post changed on the way no longer verifies.
    const tampered = raw.replace(
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
      'List-Unsubscribe-Post: x',
    );
    expect(tampered).not.toBe(raw);
    expect(verifyDkim(tampered, record).signatureOk).toBe(false);
  });

  it('relays a relay mailbox only for a DNS-proved domain, DKIM-signed with its key', async () => {
    await proveSendingDomain(t.admin, org, 'proved-domain.test');
    const relayId = await connectMailbox(t.admin, org, {
      address: 'team@proved-domain.test',
      provider: 'relay',
      verified: true,
    });
    const message = outgoing('team@proved-domain.test', 'p8@rcpt.test');
    await sender.send(workerPool, await row(relayId), message);
    const captured = relaySink.mails.find((m) => m.parsed.messageId === message.messageId);
    const signature = captured?.raw.match(/^DKIM-Signature:.*(?:\r?\n[ \t].*)*/im)?.[0] ?? '';
    expect(signature).toContain('d=proved-domain.test');
    expect(signature).toContain(`s=${testDkimKey('proved-domain.test').selector}`);

    // Marked verified, but the domain was never proved (or its proof was removed): refused.
    const unprovedId = await connectMailbox(t.admin, org, {
      address: 'team@unproved-domain.test',
      provider: 'relay',
      verified: true,
    });
    const before = relaySink.mails.length;
    await expect(
      sender.send(workerPool, await row(unprovedId), outgoing('team@unproved-domain.test', 'p9@rcpt.test')),
    ).rejects.toMatchObject({ code: 'EUNPROVEN' });
    expect(relaySink.mails).toHaveLength(before);
  });
});

describe('sentFolderOf', () => {
  it('prefers the \\Sent special-use folder, else a usual name', () => {
    expect(sentFolderOf([{ path: 'INBOX' }, { path: 'Gesendet', specialUse: '\\Sent' }] as never)).toBe(
      'Gesendet',
    );
    expect(sentFolderOf([{ path: 'INBOX' }, { path: 'Sent Items' }] as never)).toBe('Sent Items');
    expect(sentFolderOf([{ path: 'INBOX' }] as never)).toBeUndefined();
  });
});

describe('findInSent against a server that answers a byte at a time', () => {
  it('gives up at the deadline (ETIMEDOUT, retried later) instead of holding the send', async () => {
    const pit = await startTarpitImap();
    const services = testMailServices({}, 500);
    try {
      const account = {
        organisationId: randomUUID(),
        id: randomUUID(),
        provider: 'smtp_imap',
        fromName: 'Sales',
        fromAddress: 'pit@sender.test',
        status: 'active',
        verificationStatus: 'verified',
        credentialsVersion: 1,
        smtp: null,
        imap: { host: '127.0.0.1', port: pit.port, security: 'none', user: 'pit@sender.test' },
        secrets: { imapPassword: 'pw' },
      } as const;
      const started = Date.now();
      const error = await findInSent(account, services.access, '<resent@pf.test>').catch((e) => e);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(pit.commands.some((c) => /SEARCH HEADER MESSAGE-ID/i.test(c))).toBe(true);
      expect(error).toMatchObject({ code: 'ETIMEDOUT', message: expect.stringContaining('within 2 s') });
    } finally {
      await pit.close();
    }
  });
});
