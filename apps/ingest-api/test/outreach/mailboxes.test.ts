import { Writable } from 'node:stream';
import { mailboxSecretBinding } from '@prospectflow/mailboxes';
import { LocalKeyProvider, SecretBox } from '@prospectflow/secrets';
import { startTestDns, type TestDns } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_SECRETS_KEYS, type TestApp, type TestUser } from '../helpers/app.js';
import { markMailboxVerified } from '../helpers/fixtures.js';

const SMTP_PASSWORD = 'smtp-app-password-7f3a';
const IMAP_PASSWORD = 'imap-app-password-91bc';
const REFRESH_TOKEN = 'refresh-token-5d2e-secret';
const [keyId, key] = TEST_SECRETS_KEYS.split(':') as [string, string];
const box = new SecretBox(
  new LocalKeyProvider({ active: keyId, keys: { [keyId]: Buffer.from(key, 'base64') } }),
);

describe('connected mailboxes: write-only secrets, SSRF guard, verification, sending domains', () => {
  let t: TestApp;
  let owner: TestUser;
  let other: TestUser;
  let dns: TestDns;
  const logs: string[] = [];
  const call = (user: TestUser, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    t.request(user, { method, url, ...(payload ? { payload } : {}) });
  const smtpImap = (address: string) => ({
    fromName: 'Sales',
    fromAddress: address,
    smtp: { host: '127.0.0.1', port: 2525, security: 'none', password: SMTP_PASSWORD },
    imap: { host: '127.0.0.1', port: 1143, security: 'none', password: IMAP_PASSWORD },
  });
  const openStored = async (organisationId: string, id: string) => {
    const stored = await row(id);
    return await box.openJson(
      {
        ciphertext: stored.secret_ciphertext,
        wrappedKey: stored.secret_wrapped_key,
        keyId: stored.secret_key_id,
      },
      mailboxSecretBinding(organisationId, id),
    );
  };
  const row = async (id: string) =>
    (await t.admin.query(`SELECT * FROM outreach.mailboxes WHERE id = $1`, [id])).rows[0];
  const verifyTasks = async (id: string) =>
    (
      await t.admin.query(
        `SELECT payload FROM outreach.tasks WHERE type = 'verify_mailbox' AND payload->>'mailboxId' = $1 ORDER BY created_at`,
        [id],
      )
    ).rows.map((r) => r.payload);

  beforeAll(async () => {
    dns = await startTestDns();
    t = await buildTestApp({
      label: 'mailboxes',
      env: { DNS_SERVERS: dns.server, LOG_LEVEL: 'debug' },
      logStream: new Writable({
        write(chunk, _encoding, done) {
          logs.push(chunk.toString());
          done();
        },
      }),
    });
    owner = await t.signUp();
    other = await t.signUp();
  });
  afterAll(async () => {
    await t?.close();
    await dns?.close();
  });

  it('stores secrets sealed, answers configured: true, never returns or logs them, and queues verification', async () => {
    const created = await call(owner, 'POST', '/v1/mailboxes', smtpImap('ann@acme.test'));
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({
      provider: 'smtp_imap',
      smtp: {
        host: '127.0.0.1',
        port: 2525,
        security: 'none',
        user: 'ann@acme.test',
        password: { configured: true },
      },
      imap: { user: 'ann@acme.test', password: { configured: true } },
      oauth: null,
      verification: { status: 'unverified', verifiedAt: null, steps: {} },
    });
    const listed = await call(owner, 'GET', '/v1/mailboxes');
    const fetched = await call(owner, 'GET', `/v1/mailboxes/${body.id}`);
    for (const text of [created.body, listed.body, fetched.body, logs.join('')]) {
      expect(text).not.toContain(SMTP_PASSWORD);
      expect(text).not.toContain(IMAP_PASSWORD);
    }
    const stored = await row(body.id);
    expect(
      Buffer.concat([stored.secret_ciphertext, stored.secret_wrapped_key]).toString('latin1'),
    ).not.toContain(SMTP_PASSWORD);
    expect(
      await box.openJson(
        {
          ciphertext: stored.secret_ciphertext,
          wrappedKey: stored.secret_wrapped_key,
          keyId: stored.secret_key_id,
        },
        mailboxSecretBinding(owner.organisationId, body.id),
      ),
    ).toEqual({ smtpPassword: SMTP_PASSWORD, imapPassword: IMAP_PASSWORD });
    expect(await verifyTasks(body.id)).toEqual([{ mailboxId: body.id, credentialsVersion: 1 }]);
  });

  it('refuses loopback, private, link-local and metadata hosts unless allow-listed (SSRF)', async () => {
    dns.setAddresses('smtp.internal.test', ['192.168.10.5']);
    for (const [i, host] of [
      '169.254.169.254',
      '10.0.0.8',
      'localhost',
      'smtp.internal.test',
      'nowhere.invalid.test',
    ].entries()) {
      const res = await call(owner, 'POST', '/v1/mailboxes', {
        ...smtpImap(`ssrf${i}@acme.test`),
        smtp: { host, port: 587, security: 'starttls', password: 'x' },
      });
      expect(res.statusCode, host).toBe(422);
      expect(res.json()).toMatchObject({ code: 'mailbox_host_refused', field: 'smtp.host' });
    }
  });

  it('says what is missing, and keeps relay mailboxes free of servers', async () => {
    const incomplete = await call(owner, 'POST', '/v1/mailboxes', {
      fromName: 'S',
      fromAddress: 'inc@acme.test',
      smtp: { host: '127.0.0.1' },
    });
    expect(incomplete.statusCode).toBe(422);
    expect(incomplete.json().code).toBe('mailbox_connection_incomplete');
    expect(incomplete.json().errors.map((e: { field: string }) => e.field)).toEqual(
      expect.arrayContaining(['smtp.port', 'smtp.security', 'imap.host', 'smtp.password']),
    );
    // Google's servers, as the test DNS server answers for them (public addresses).
    dns.setAddresses('smtp.gmail.com', ['142.250.102.108']);
    dns.setAddresses('imap.gmail.com', ['142.250.102.109']);
    const oauth = await call(owner, 'POST', '/v1/mailboxes', {
      fromName: 'G',
      fromAddress: 'g@acme.test',
      provider: 'google',
      oauth: { refreshToken: REFRESH_TOKEN },
    });
    expect(oauth.json()).toMatchObject({
      provider: 'google',
      smtp: { host: 'smtp.gmail.com', port: 465, security: 'tls', password: { configured: false } },
      oauth: { refreshToken: { configured: true } },
    });
    expect(oauth.body).not.toContain(REFRESH_TOKEN);
  });

  it('a change of server or secret makes the mailbox unverified again; other changes do not', async () => {
    const id = (await call(owner, 'POST', '/v1/mailboxes', smtpImap('bob@acme.test'))).json().id;
    await markMailboxVerified(t.admin, id);
    const window = await call(owner, 'PATCH', `/v1/mailboxes/${id}`, { dailyLimit: 30 });
    expect(window.json().verification.status).toBe('verified');
    const rotated = await call(owner, 'PATCH', `/v1/mailboxes/${id}`, {
      smtp: { password: 'new-smtp-password' },
    });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().verification).toMatchObject({ status: 'unverified', verifiedAt: null });
    const stored = await row(id);
    expect(stored.credentials_version).toBe(2);
    expect(
      await box.openJson(
        {
          ciphertext: stored.secret_ciphertext,
          wrappedKey: stored.secret_wrapped_key,
          keyId: stored.secret_key_id,
        },
        mailboxSecretBinding(owner.organisationId, id),
      ),
    ).toEqual({ smtpPassword: 'new-smtp-password', imapPassword: IMAP_PASSWORD });
    expect((await verifyTasks(id)).map((p) => p.credentialsVersion)).toEqual([1, 2]);
  });

  it('a ciphertext copied into another organisation does not open there', async () => {
    const a = (await call(owner, 'POST', '/v1/mailboxes', smtpImap('cat@acme.test'))).json().id;
    const b = (await call(other, 'POST', '/v1/mailboxes', smtpImap('cat@other.test'))).json().id;
    await t.admin.query(
      `UPDATE outreach.mailboxes dst SET secret_ciphertext = src.secret_ciphertext, secret_wrapped_key = src.secret_wrapped_key
       FROM outreach.mailboxes src WHERE src.id = $1 AND dst.id = $2`,
      [a, b],
    );
    const res = await call(other, 'PATCH', `/v1/mailboxes/${b}`, { imap: { password: 'changed' } });
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('mailbox_secrets_unreadable');
    // Giving every secret again repairs it, sealed to this organisation and mailbox.
    const repaired = await call(other, 'PATCH', `/v1/mailboxes/${b}`, {
      smtp: { password: 'new-smtp' },
      imap: { password: 'new-imap' },
    });
    expect(repaired.statusCode).toBe(200);
    expect(repaired.json().verification.status).toBe('unverified');
    expect(await openStored(other.organisationId, b)).toEqual({
      smtpPassword: 'new-smtp',
      imapPassword: 'new-imap',
    });
  });

  it('a change of server, port or from-address alone keeps the stored secrets', async () => {
    const id = (await call(owner, 'POST', '/v1/mailboxes', smtpImap('eve@acme.test'))).json().id;
    await markMailboxVerified(t.admin, id);
    const port = await call(owner, 'PATCH', `/v1/mailboxes/${id}`, { smtp: { port: 2526 } });
    expect(port.statusCode).toBe(200);
    expect(port.json()).toMatchObject({
      smtp: { port: 2526, password: { configured: true } },
      verification: { status: 'unverified' },
    });
    const moved = await call(owner, 'PATCH', `/v1/mailboxes/${id}`, { fromAddress: 'eve.sales@acme.test' });
    expect(moved.statusCode).toBe(200);
    expect(await openStored(owner.organisationId, id)).toEqual({
      smtpPassword: SMTP_PASSWORD,
      imapPassword: IMAP_PASSWORD,
    });
    const google = (
      await call(owner, 'POST', '/v1/mailboxes', {
        fromName: 'G',
        fromAddress: 'g2@acme.test',
        provider: 'google',
        oauth: { refreshToken: REFRESH_TOKEN },
      })
    ).json().id;
    const renamed = await call(owner, 'PATCH', `/v1/mailboxes/${google}`, { fromAddress: 'g3@acme.test' });
    expect(renamed.statusCode).toBe(200);
    expect(await openStored(owner.organisationId, google)).toEqual({ refreshToken: REFRESH_TOKEN });
  });

  it('refuses a server without TLS unless the operator allow-list names it', async () => {
    dns.setAddresses('mail.public.test', ['93.184.215.14']);
    const plain = await call(owner, 'POST', '/v1/mailboxes', {
      ...smtpImap('plain@acme.test'),
      smtp: { host: 'mail.public.test', port: 25, security: 'none', password: SMTP_PASSWORD },
    });
    expect(plain.statusCode).toBe(422);
    expect(plain.json()).toMatchObject({
      code: 'mailbox_plaintext_refused',
      field: 'smtp.security',
      reason: 'plaintext_refused',
    });
    const tls = await call(owner, 'POST', '/v1/mailboxes', {
      ...smtpImap('plain@acme.test'),
      smtp: { host: 'mail.public.test', port: 587, security: 'starttls', password: SMTP_PASSWORD },
    });
    expect(tls.statusCode).toBe(201);
  });

  it('a key missing from the ring is a 503 for the operator, not a request to re-enter secrets', async () => {
    const id = (await call(owner, 'POST', '/v1/mailboxes', smtpImap('fay@acme.test'))).json().id;
    await t.admin.query(`UPDATE outreach.mailboxes SET secret_key_id = 'local:retired' WHERE id = $1`, [id]);
    const res = await call(owner, 'PATCH', `/v1/mailboxes/${id}`, { smtp: { port: 2526 } });
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('secrets_key_unavailable');
    expect((await row(id)).smtp_port).toBe(2525);
  });

  it('campaigns cannot activate on an unverified mailbox', async () => {
    const mailbox = (await call(owner, 'POST', '/v1/mailboxes', smtpImap('dan@acme.test'))).json().id;
    const campaign = await call(owner, 'POST', '/v1/campaigns', {
      name: 'Unverified',
      mailboxId: mailbox,
      steps: [{ delayDays: 0, subject: 'Hi', body: 'Hello' }],
    });
    const refused = await call(owner, 'POST', `/v1/campaigns/${campaign.json().id}/activate`);
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'mailbox_unverified', verification: 'unverified' });
    await markMailboxVerified(t.admin, mailbox);
    expect((await call(owner, 'POST', `/v1/campaigns/${campaign.json().id}/activate`)).statusCode).toBe(200);
  });

  it('a campaign rotates across further mailboxes: set, read back, replaced, each verified before activation', async () => {
    const main = (await call(owner, 'POST', '/v1/mailboxes', smtpImap('main@rotate.test'))).json().id;
    const second = (await call(owner, 'POST', '/v1/mailboxes', smtpImap('second@rotate.test'))).json().id;
    const third = (await call(owner, 'POST', '/v1/mailboxes', smtpImap('third@rotate.test'))).json().id;
    const created = await call(owner, 'POST', '/v1/campaigns', {
      name: 'Rotating',
      mailboxId: main,
      additionalMailboxIds: [second, third],
      steps: [{ delayDays: 0, subject: 'Hi', body: 'Hello' }],
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    expect(created.json().additionalMailboxIds.sort()).toEqual([second, third].sort());
    const stored = await t.admin.query(
      'SELECT mailbox_id FROM outreach.campaign_mailboxes WHERE campaign_id = $1 ORDER BY mailbox_id',
      [id],
    );
    expect(stored.rows.map((r) => r.mailbox_id)).toEqual([second, third].sort());

    // Every mailbox it rotates across must be verified before it can activate.
    await markMailboxVerified(t.admin, main);
    await markMailboxVerified(t.admin, second);
    const refused = await call(owner, 'POST', `/v1/campaigns/${id}/activate`);
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'mailbox_unverified', mailboxId: third });

    const replaced = await call(owner, 'PATCH', `/v1/campaigns/${id}`, { additionalMailboxIds: [second] });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json().additionalMailboxIds).toEqual([second]);
    expect((await call(owner, 'POST', `/v1/campaigns/${id}/activate`)).statusCode).toBe(200);
    // Active: an unverified mailbox cannot join the rotation.
    const joining = await call(owner, 'PATCH', `/v1/campaigns/${id}`, {
      additionalMailboxIds: [second, third],
    });
    expect(joining.statusCode).toBe(422);
    expect((await call(owner, 'GET', `/v1/campaigns/${id}`)).json().additionalMailboxIds).toEqual([second]);

    // Another organisation's mailbox is not a mailbox of this one.
    const foreign = (await call(other, 'POST', '/v1/mailboxes', smtpImap('x@foreign.test'))).json().id;
    const wrong = await call(owner, 'PATCH', `/v1/campaigns/${id}`, { additionalMailboxIds: [foreign] });
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json().code).toBe('invalid_reference');
  });

  it('proves a sending domain by DNS TXT, with a sealed DKIM key, and then verifies its relay mailboxes', async () => {
    const relay = (
      await call(owner, 'POST', '/v1/mailboxes', { fromName: 'News', fromAddress: 'news@proved.test' })
    ).json();
    expect(relay).toMatchObject({ provider: 'relay', smtp: null, imap: null });
    const created = await call(owner, 'POST', '/v1/sending-domains', { domain: 'Proved.TEST' });
    expect(created.statusCode).toBe(201);
    const domain = created.json();
    expect(domain.proof).toEqual({
      name: '_prospectflow.proved.test',
      type: 'TXT',
      value: expect.stringMatching(/^prospectflow-verification=[0-9a-f]{32}$/),
    });
    expect(domain.dkim.record.name).toBe(`${domain.dkim.selector}._domainkey.proved.test`);
    expect(domain.dkim.record.value).toMatch(/^v=DKIM1; k=rsa; p=/);
    const stored = (await t.admin.query(`SELECT * FROM outreach.sending_domains WHERE id = $1`, [domain.id]))
      .rows[0];
    expect(stored.dkim_ciphertext.toString('latin1')).not.toContain('PRIVATE KEY');
    const missing = await call(owner, 'POST', `/v1/sending-domains/${domain.id}/verify`);
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toMatchObject({ code: 'domain_not_proved', found: [] });
    dns.setTxt(domain.proof.name, [domain.proof.value]);
    const proved = await call(owner, 'POST', `/v1/sending-domains/${domain.id}/verify`);
    expect(proved.statusCode).toBe(200);
    expect(proved.json().verifiedAt).toEqual(expect.any(String));
    // Queued when created; proving the domain finds that task still pending (one live task per version).
    expect(await verifyTasks(relay.id)).toHaveLength(1);
    expect((await call(other, 'GET', `/v1/sending-domains/${domain.id}`)).statusCode).toBe(404);
  });

  it('takes a domain under an internationalised TLD (A-label) and a full-length name given with a trailing dot', async () => {
    const idn = await call(owner, 'POST', '/v1/sending-domains', { domain: 'Example.XN--P1AI' });
    expect(idn.statusCode).toBe(201);
    expect(idn.json().domain).toBe('example.xn--p1ai');
    // 253 characters once normalised: the trailing dot and spaces around do not count.
    const label = 'a'.repeat(61);
    const longest = `${[label, label, label, `${label}b`].join('.')}.test`;
    expect(longest).toHaveLength(253);
    const long = await call(owner, 'POST', '/v1/sending-domains', { domain: ` ${longest}. ` });
    expect(long.statusCode).toBe(201);
    expect(long.json().domain).toBe(longest);
    const tooLong = await call(owner, 'POST', '/v1/sending-domains', { domain: `a${longest}` });
    expect(tooLong.json().code).toBe('invalid_domain');
  });
});
