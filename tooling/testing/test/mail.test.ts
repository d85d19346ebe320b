import { Resolver } from 'node:dns/promises';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import {
  issueRefreshToken,
  revokeRefreshToken,
  setMailPassword,
  startTestDns,
  startTestMail,
  testMail,
} from '../src/index.js';

const mail = testMail();
const smtp = (auth: object) =>
  nodemailer.createTransport({ host: mail.host, port: mail.smtpPort, secure: false, auth } as never);
const imap = (auth: object) =>
  new ImapFlow({ host: mail.host, port: mail.imapPort, secure: false, auth: auth as never, logger: false });

async function subjects(client: ImapFlow, folder: string): Promise<string[]> {
  const lock = await client.getMailboxLock(folder);
  try {
    // A mailbox already selected learns of new messages only from the server's next answer, and
    // imapflow sends no FETCH at all while it believes the mailbox empty: NOOP asks for news.
    await client.noop();
    return (await client.fetchAll('1:*', { envelope: true })).map((m) => m.envelope?.subject ?? '');
  } catch {
    return [];
  } finally {
    lock.release();
  }
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const value = await read();
    // Up to 20 s: the DSN and the answer are sent after the SMTP transaction, in the background.
    if (ok(value) || i > 400) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('test mail system (Dovecot + SMTP + OAuth)', () => {
  const clients: ImapFlow[] = [];
  afterAll(async () => {
    for (const c of clients) await c.logout().catch(() => {});
  });

  it('delivers over SMTP into Dovecot, files a Sent copy, and sends back a DSN and an answer', async () => {
    setMailPassword(mail, 'ann@svc.test', 'pw-ann');
    await smtp({ user: 'ann@svc.test', pass: 'pw-ann' }).sendMail({
      from: 'ann@svc.test',
      to: ['bob@far.test', 'bounce-carl@far.test', 'answer-dan@far.test'],
      subject: 'Hello there',
      text: 'hi',
    });
    setMailPassword(mail, 'bob@far.test', 'pw-bob');
    const bob = imap({ user: 'bob@far.test', pass: 'pw-bob' });
    const ann = imap({ user: 'ann@svc.test', pass: 'pw-ann' });
    clients.push(bob, ann);
    await bob.connect();
    await ann.connect();
    expect(await subjects(bob, 'INBOX')).toEqual(['Hello there']);
    expect(await subjects(ann, 'Sent')).toEqual(['Hello there']);
    const inbox = await eventually(
      () => subjects(ann, 'INBOX'),
      (s) => s.length === 2,
    );
    expect(inbox.sort()).toEqual(['Delivery Status Notification (Failure)', 'Re: Hello there']);
  });

  it('answers the addresses listed in `answering` like answer-… ones, and only those', async () => {
    // Its own system: `answering` is fixed when the SMTP server starts (pnpm dev's demo prospect).
    const own = await startTestMail(undefined, { answering: ['Zoe@Far.test'] });
    try {
      setMailPassword(own, 'gil@svc.test', 'pw-gil');
      const transport = nodemailer.createTransport({
        host: own.host,
        port: own.smtpPort,
        secure: false,
        auth: { user: 'gil@svc.test', pass: 'pw-gil' },
      } as never);
      await transport.sendMail({ from: 'gil@svc.test', to: 'yan@far.test', subject: 'To Yan', text: 'x' });
      await transport.sendMail({ from: 'gil@svc.test', to: 'zoe@far.test', subject: 'To Zoe', text: 'x' });
      const gil = new ImapFlow({
        host: own.host,
        port: own.imapPort,
        secure: false,
        auth: { user: 'gil@svc.test', pass: 'pw-gil' },
        logger: false,
      });
      clients.push(gil);
      await gil.connect();
      // An answer from Yan would have come 50 ms after his message, before Zoe's was even sent.
      expect(
        await eventually(
          () => subjects(gil, 'INBOX'),
          (s) => s.length > 0,
        ),
      ).toEqual(['Re: To Zoe']);
      await gil.logout();
    } finally {
      await own.stop();
    }
  });

  it('refuses a wrong password, a foreign sender and a rejected recipient with real SMTP answers', async () => {
    setMailPassword(mail, 'eve@svc.test', 'pw-eve');
    await expect(smtp({ user: 'eve@svc.test', pass: 'nope' }).verify()).rejects.toMatchObject({
      code: 'EAUTH',
      responseCode: 535,
    });
    const eve = smtp({ user: 'eve@svc.test', pass: 'pw-eve' });
    await expect(eve.sendMail({ from: 'ceo@bank.test', to: 'x@far.test', text: 'x' })).rejects.toMatchObject({
      responseCode: 553,
    });
    await expect(
      eve.sendMail({ from: 'eve@svc.test', to: 'reject-x@far.test', text: 'x' }),
    ).rejects.toMatchObject({ responseCode: 550 });
    await expect(imap({ user: 'eve@svc.test', pass: 'nope' }).connect()).rejects.toMatchObject({
      authenticationFailed: true,
    });
  });

  it('authenticates SMTP and IMAP with XOAUTH2 access tokens from the token server', async () => {
    const refreshToken = issueRefreshToken(mail, 'fay@svc.test');
    const token = async () => {
      const response = await fetch(mail.oauthTokenUrl, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: 'c',
        }),
      });
      return {
        status: response.status,
        body: (await response.json()) as { access_token?: string; error?: string },
      };
    };
    const { body } = await token();
    await smtp({ type: 'OAuth2', user: 'fay@svc.test', accessToken: body.access_token }).verify();
    const fay = imap({ user: 'fay@svc.test', accessToken: body.access_token });
    clients.push(fay);
    await fay.connect();
    await expect(
      smtp({ type: 'OAuth2', user: 'fay@svc.test', accessToken: 'at_forged' }).verify(),
    ).rejects.toMatchObject({
      code: 'EAUTH',
    });
    revokeRefreshToken(mail, refreshToken);
    expect(await token()).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('a local DNS server answers TXT and A records over the real protocol', async () => {
    const dns = await startTestDns();
    try {
      dns.setTxt('_prospectflow.acme.test', ['prospectflow-verification=abc', 'x'.repeat(300)]);
      dns.setAddresses('mail.acme.test', ['10.1.2.3']);
      const resolver = new Resolver();
      resolver.setServers([dns.server]);
      const txt = (await resolver.resolveTxt('_prospectflow.acme.test')).map((chunks) => chunks.join(''));
      expect(txt.sort()).toEqual(['prospectflow-verification=abc', 'x'.repeat(300)]);
      expect(await resolver.resolve4('mail.acme.test')).toEqual(['10.1.2.3']);
      await expect(resolver.resolveTxt('nothing.acme.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    } finally {
      await dns.close();
    }
  });
});
