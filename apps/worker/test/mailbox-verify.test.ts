import net from 'node:net';
import {
  consentUrl,
  mailboxSecretBinding,
  newConsentSecrets,
  redeemAuthorizationCode,
} from '@prospectflow/mailboxes';
import {
  issueRefreshToken,
  revokeRefreshToken,
  setMailPassword,
  startTestDns,
  testMail,
} from '@prospectflow/testing';
import { ImapFlow } from 'imapflow';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { outreachHandlers } from '../src/handlers.js';
import type { MailServices } from '../src/mailboxes/services.js';
import { createOrg, openTestDb, type TestDb } from './support/db.js';
import {
  type ConnectedMailboxSeed,
  connectMailbox,
  queueVerification,
  testBox,
  testMailServices,
} from './support/mailboxes.js';
import { startSmtpSink } from './support/smtp.js';
import { PUBLIC_BASE_URL, type TestWorker, testWorker } from './support/worker.js';

/** A test DNS server, a port that accepts but never greets, and a port nothing listens on. */
async function badNetwork() {
  const dns = await startTestDns();
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const closedPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  return {
    dns,
    silentPort: (silent.address() as net.AddressInfo).port,
    closedPort,
    close: async () => {
      silent.close();
      await dns.close();
    },
  };
}

describe('mailbox verification by the worker (real Dovecot + SMTP)', () => {
  let t: TestDb;
  let org: string;
  const mail = testMail();
  const workers: TestWorker[] = [];

  beforeAll(async () => {
    t = await openTestDb('verify');
    org = await createOrg(t.admin, 'verify-org');
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await t?.close();
  });

  async function verify(seed: ConnectedMailboxSeed, services: MailServices = testMailServices()) {
    return await verifyAgain(await connectMailbox(t.admin, org, seed), services);
  }

  async function verifyAgain(id: string, services: MailServices) {
    await queueVerification(t.admin, org, id);
    const w = testWorker(t.workerUrl, 'smtp://127.0.0.1:1', new ManualClock(new Date()), {
      handlers: outreachHandlers({
        mailer: undefined as never,
        publicBaseUrl: PUBLIC_BASE_URL,
        variantSeed: 's',
        mail: services,
      }),
    });
    workers.push(w);
    await w.worker.drain();
    const { rows } = await t.admin.query(
      `SELECT verification_status, verification, verified_at, last_error_code FROM outreach.mailboxes WHERE id = $1`,
      [id],
    );
    const task = await t.admin.query(`SELECT status FROM outreach.tasks WHERE payload->>'mailboxId' = $1`, [
      id,
    ]);
    expect(task.rows.every((r) => r.status === 'succeeded')).toBe(true);
    return { id, ...rows[0] };
  }

  it('verifies a mailbox: SMTP and IMAP logins, then its own message found in the INBOX by token', async () => {
    setMailPassword(mail, 'good@sender.test', 'app-pw');
    const result = await verify({
      address: 'good@sender.test',
      secrets: { smtpPassword: 'app-pw', imapPassword: 'app-pw' },
    });
    expect(result.verification_status).toBe('verified');
    expect(result.verified_at).toBeInstanceOf(Date);
    expect(result.verification).toMatchObject({
      smtp: { ok: true },
      imap: { ok: true },
      roundtrip: { ok: true },
    });
    // The check message was tidied from the INBOX; the Sent copy stays like any sent message.
    const client = new ImapFlow({
      host: mail.host,
      port: mail.imapPort,
      secure: false,
      auth: { user: 'good@sender.test', pass: 'app-pw' },
      logger: false,
    });
    await client.connect();
    expect(((await client.status('INBOX', { messages: true })) || undefined)?.messages).toBe(0);
    expect(((await client.status('Sent', { messages: true })) || undefined)?.messages).toBe(1);
    await client.logout();
  });

  it('stores each failing step with the server answer: SMTP auth refused, IMAP auth refused', async () => {
    setMailPassword(mail, 'halfwrong@sender.test', 'right');
    const smtp = await verify({
      address: 'halfwrong@sender.test',
      secrets: { smtpPassword: 'wrong', imapPassword: 'right' },
    });
    expect(smtp.verification_status).toBe('failed');
    expect(smtp.last_error_code).toBe('smtp:auth');
    expect(smtp.verification.smtp).toMatchObject({
      ok: false,
      kind: 'auth',
      answer: expect.stringContaining('535'),
    });
    expect(smtp.verification.imap).toMatchObject({ ok: true });
    expect(smtp.verification.roundtrip).toEqual({ ok: null, skipped: true });
    setMailPassword(mail, 'imapwrong@sender.test', 'right');
    const imap = await verify({
      address: 'imapwrong@sender.test',
      secrets: { smtpPassword: 'right', imapPassword: 'bad' },
    });
    expect(imap.verification.imap).toMatchObject({ ok: false, kind: 'auth' });
  });

  it('tells DNS, blocked hosts, refused connections, TLS and timeouts apart', {
    timeout: 60_000,
  }, async () => {
    const network = await badNetwork();
    const { dns, silentPort, closedPort } = network;
    try {
      const services = testMailServices({ dnsServers: [dns.server] }, 1_500);
      const secrets = { smtpPassword: 'x', imapPassword: 'x' };
      const cases = [
        [{ smtp: { host: 'nowhere.sender.test' } }, 'dns'],
        [{ smtp: { host: '10.20.30.40' } }, 'blocked_host'],
        [{ smtp: { port: closedPort } }, 'connection'],
        [{ smtp: { security: 'tls' as const } }, 'tls'],
        [{ smtp: { port: silentPort } }, 'timeout'],
      ] as const;
      for (const [i, [change, kind]] of cases.entries()) {
        const result = await verify({ address: `net${i}@sender.test`, secrets, ...change }, services);
        expect(result.verification.smtp, JSON.stringify(change)).toMatchObject({ ok: false, kind });
        expect(result.verification_status).toBe('failed');
      }
    } finally {
      await network.close();
    }
  });

  it('tells IMAP-side failures apart while SMTP works: refused login, unreachable, TLS, DNS, blocked host, timeout', {
    timeout: 60_000,
  }, async () => {
    const network = await badNetwork();
    const { dns, silentPort, closedPort } = network;
    try {
      const services = testMailServices({ dnsServers: [dns.server] }, 1_500);
      const cases = [
        [
          { secrets: { smtpPassword: 'pw', imapPassword: 'not-the-password' } },
          'auth',
          /AUTHENTICATIONFAILED|Authentication failed/i,
        ],
        [{ imap: { port: closedPort } }, 'connection', /ECONNREFUSED/],
        [{ imap: { security: 'tls' as const } }, 'tls', /SSL|TLS|wrong version/i],
        [{ imap: { host: 'nowhere.sender.test' } }, 'dns', /nowhere\.sender\.test/],
        [{ imap: { host: '10.20.30.40' } }, 'blocked_host', /10\.20\.30\.40/],
        [{ imap: { port: silentPort } }, 'timeout', /greeting/i],
      ] as const;
      for (const [i, [change, kind, answer]] of cases.entries()) {
        const address = `imapside${i}@sender.test`;
        setMailPassword(mail, address, 'pw');
        const result = await verify(
          { address, secrets: { smtpPassword: 'pw', imapPassword: 'pw' }, ...change },
          services,
        );
        const label = JSON.stringify(change);
        // SMTP logged in; the IMAP step carries the failure and the server's (or library's) answer.
        expect(result.verification.smtp, label).toMatchObject({ ok: true });
        expect(result.verification.imap, label).toMatchObject({
          ok: false,
          kind,
          answer: expect.stringMatching(answer),
        });
        expect(result.verification.roundtrip, label).toEqual({ ok: null, skipped: true });
        expect(result.verification_status, label).toBe('failed');
        expect(result.last_error_code, label).toBe(`imap:${kind}`);
      }
    } finally {
      await network.close();
    }
  });

  it('fails the round trip as sender_refused when the SMTP login may not send as the mailbox address', async () => {
    // An alias connected with another account's login (a Gmail "send as" never set up): both
    // logins work, and the server refuses the envelope sender of the check message (553).
    setMailPassword(mail, 'owner@sender.test', 'owner-pw');
    setMailPassword(mail, 'alias@sender.test', 'alias-pw');
    const result = await verify({
      address: 'alias@sender.test',
      secrets: { smtpPassword: 'owner-pw', imapPassword: 'alias-pw' },
      smtp: { user: 'owner@sender.test' },
    });
    expect(result.verification.smtp).toMatchObject({ ok: true });
    expect(result.verification.imap).toMatchObject({ ok: true });
    expect(result.verification.roundtrip).toMatchObject({
      ok: false,
      kind: 'sender_refused',
      answer: expect.stringContaining('553'),
    });
    expect(result.verification_status).toBe('failed');
    expect(result.last_error_code).toBe('roundtrip:sender_refused');
  });

  it('fails the round trip when the message never reaches the INBOX', async () => {
    // SMTP accepts (a sink that delivers nowhere); IMAP is the real mailbox.
    const sink = await startSmtpSink({ auth: { user: 'lost@sender.test', pass: 'pw' } });
    setMailPassword(mail, 'lost@sender.test', 'pw');
    try {
      const result = await verify(
        {
          address: 'lost@sender.test',
          secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
          smtp: { port: sink.port },
        },
        testMailServices({ verifyTimeoutMs: 1_500 }),
      );
      expect(result.verification.roundtrip).toMatchObject({ ok: false, kind: 'not_delivered' });
    } finally {
      await sink.close();
    }
  });

  it('an OAuth mailbox authenticates SMTP and IMAP with XOAUTH2 from one token fetch; a revoked token is an auth failure', async () => {
    const refreshToken = issueRefreshToken(mail, 'oauth@sender.test');
    const services = testMailServices();
    const ok = await verify(
      { address: 'oauth@sender.test', provider: 'google', secrets: { refreshToken } },
      services,
    );
    expect(ok.verification_status).toBe('verified');
    expect(services.access.tokens.refreshes).toBe(1);
    revokeRefreshToken(mail, refreshToken);
    const revoked = await verify(
      {
        address: 'oauth@sender.test'.replace('oauth', 'oauth2'),
        provider: 'google',
        secrets: { refreshToken },
      },
      services,
    );
    expect(revoked.verification.smtp).toMatchObject({
      ok: false,
      kind: 'auth',
      answer: expect.stringContaining('invalid_grant'),
    });
  });

  it('a refresh token obtained by consent (code + PKCE, as the API does) verifies the mailbox over XOAUTH2', async () => {
    const client = {
      clientId: 'test-client',
      clientSecret: 'test-secret',
      tokenUrl: mail.oauthTokenUrl,
      authorizeUrl: mail.oauthAuthorizeUrl,
    };
    const redirectUri = 'https://app.example.test/mailboxes/oauth';
    const { state, codeVerifier, codeChallenge } = newConsentSecrets();
    const page = await fetch(
      consentUrl('google', client, { redirectUri, state, codeChallenge, loginHint: 'consent@sender.test' }),
      { redirect: 'manual' },
    );
    const back = new URL(page.headers.get('location') ?? '');
    expect(back.searchParams.get('state')).toBe(state);
    const { refreshToken } = await redeemAuthorizationCode('google', client, {
      code: back.searchParams.get('code') ?? '',
      codeVerifier,
      redirectUri,
    });
    const result = await verify(
      { address: 'consent@sender.test', provider: 'google', secrets: { refreshToken } },
      testMailServices(),
    );
    expect(result.verification_status).toBe('verified');
    expect(result.verification.roundtrip).toMatchObject({ ok: true });
  });

  it('stores a refresh token the provider rotated: still verified, and a new process uses the new token', async () => {
    const pool = new pg.Pool({ connectionString: t.workerUrl, max: 2 });
    try {
      const first = issueRefreshToken(mail, 'rotating@sender.test', { rotating: true });
      const result = await verify(
        { address: 'rotating@sender.test', provider: 'google', secrets: { refreshToken: first } },
        testMailServices({}, 5_000, pool),
      );
      expect(result.verification_status).toBe('verified');
      const stored = async () => {
        const { rows } = await t.admin.query(
          `SELECT secret_ciphertext, secret_wrapped_key, secret_key_id, credentials_version FROM outreach.mailboxes WHERE id = $1`,
          [result.id],
        );
        const r = rows[0];
        const secrets = await testBox().openJson<{ refreshToken: string }>(
          { ciphertext: r.secret_ciphertext, wrappedKey: r.secret_wrapped_key, keyId: r.secret_key_id },
          mailboxSecretBinding(org, result.id),
        );
        return { ...secrets, version: r.credentials_version };
      };
      // The provider retired the first token: the row holds its successor, same credentials version.
      const after = await stored();
      expect(after.refreshToken).toMatch(/^rt_/);
      expect(after.refreshToken).not.toBe(first);
      expect(after.version).toBe(1);
      // A fresh token cache (another process) works from what is stored.
      const again = await verifyAgain(result.id, testMailServices({}, 5_000, pool));
      expect(again).toMatchObject({ verification_status: 'verified', verification: { smtp: { ok: true } } });
      expect((await stored()).refreshToken).not.toBe(after.refreshToken);
    } finally {
      await pool.end();
    }
  });

  it('a relay mailbox is verified only once its domain is proved', async () => {
    const unproved = await verify({ address: 'news@relay.test', provider: 'relay' });
    expect(unproved.verification.domain).toMatchObject({ ok: false, kind: 'domain_not_proved' });
    await t.admin.query(
      `INSERT INTO outreach.sending_domains (organisation_id, domain, proof_token, verified_at, dkim_selector, dkim_public_key, dkim_ciphertext, dkim_wrapped_key, dkim_key_id)
       VALUES ($1, 'relay2.test', repeat('a', 32), now(), 's1', 'p', '\\x00', '\\x00', 'local:test')`,
      [org],
    );
    const proved = await verify({ address: 'news@relay2.test', provider: 'relay' });
    expect(proved.verification_status).toBe('verified');
  });
});
