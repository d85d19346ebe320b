import { mailboxSecretBinding } from '@prospectflow/mailboxes';
import { LocalKeyProvider, SecretBox } from '@prospectflow/secrets';
import { startTestDns, type TestDns } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_SECRETS_KEYS, type TestApp, type TestUser } from '../helpers/app.js';
import { markMailboxVerified } from '../helpers/fixtures.js';

// What a change of a connected mailbox may and may not do: bodies taken exactly as sent, secrets
// bound to the mailbox's own id, never sent to a server they were not given for, never paired
// with another change's settings.

const SMTP_PASSWORD = 'smtp-app-password-c41d';
const IMAP_PASSWORD = 'imap-app-password-8e02';
const [keyId, key] = TEST_SECRETS_KEYS.split(':') as [string, string];
const box = new SecretBox(
  new LocalKeyProvider({ active: keyId, keys: { [keyId]: Buffer.from(key, 'base64') } }),
);

describe('changing a connected mailbox', () => {
  let t: TestApp;
  let owner: TestUser;
  let other: TestUser;
  let dns: TestDns;
  const call = (user: TestUser, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    t.request(user, { method, url, ...(payload ? { payload } : {}) });
  const smtpImap = (address: string, security = 'none') => ({
    fromName: 'Sales',
    fromAddress: address,
    smtp: { host: '127.0.0.1', port: 2525, security, password: SMTP_PASSWORD },
    imap: { host: '127.0.0.1', port: 1143, security, password: IMAP_PASSWORD },
  });
  const create = async (user: TestUser, body: object) => {
    const res = await call(user, 'POST', '/v1/mailboxes', body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  const row = async (id: string) =>
    (await t.admin.query(`SELECT * FROM outreach.mailboxes WHERE id = $1`, [id])).rows[0];
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
  /** The row as a refused change must leave it: same settings, secret and version. */
  const unchanged = async (id: string, before: Record<string, unknown>) =>
    expect(await row(id)).toEqual(before);

  beforeAll(async () => {
    dns = await startTestDns();
    // Google's servers and a public host, as the test DNS server answers for them.
    dns.setAddresses('smtp.gmail.com', ['142.250.102.108']);
    dns.setAddresses('imap.gmail.com', ['142.250.102.109']);
    dns.setAddresses('mail.elsewhere.test', ['93.184.215.14']);
    t = await buildTestApp({ label: 'mailbox_changes', env: { DNS_SERVERS: dns.server } });
    owner = await t.signUp();
    other = await t.signUp();
  });
  afterAll(async () => {
    await t?.close();
    await dns?.close();
  });

  it('refuses unknown fields (400 naming them) instead of dropping them, and writes nothing', async () => {
    const id = await create(owner, smtpImap('unknown@acme.test'));
    await markMailboxVerified(t.admin, id);
    const before = await row(id);
    for (const [payload, paths] of [
      [{ password: 'new-pw' }, ['/password']],
      [{ smtpPassword: 'x', imapPassword: 'y' }, ['/smtpPassword', '/imapPassword']],
      [{ smtp: { pasword: 'x' } }, ['/smtp/pasword']],
      [{ dailyLimit: 20, imap: { port: 993, passwd: 'x' } }, ['/imap/passwd']],
    ] as const) {
      const res = await call(owner, 'PATCH', `/v1/mailboxes/${id}`, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual(paths);
      await unchanged(id, before);
    }
    const created = await call(owner, 'POST', '/v1/mailboxes', {
      ...smtpImap('unknown2@acme.test'),
      smtp: { host: '127.0.0.1', port: 2525, security: 'none', pass: SMTP_PASSWORD },
    });
    expect(created.statusCode).toBe(400);
    expect(created.json().errors).toEqual([expect.objectContaining({ in: 'body', path: '/smtp/pass' })]);
    // The consent routes take their bodies the same way (checked before the OAuth setup is).
    const start = await call(owner, 'POST', '/v1/mailboxes/oauth/start', {
      provider: 'google',
      fromAddress: 'unknown3@acme.test',
      refreshToken: 'x',
    });
    expect(start.statusCode).toBe(400);
    expect(start.json().errors.map((e: { path: string }) => e.path)).toEqual(['/refreshToken']);
  });

  it('takes secrets only as strings: nothing is coerced into one', async () => {
    const id = await create(owner, smtpImap('coerce@acme.test'));
    const google = await create(owner, {
      fromName: 'G',
      fromAddress: 'coerce.g@acme.test',
      provider: 'google',
      oauth: { refreshToken: 'refresh-token-coerce' },
    });
    const before = await row(id);
    const beforeGoogle = await row(google);
    for (const [mailbox, payload, path] of [
      [id, { smtp: { password: false } }, '/smtp/password'],
      [id, { imap: { password: 12345678 } }, '/imap/password'],
      [id, { smtp: { port: '2526' } }, '/smtp/port'],
      [google, { oauth: { refreshToken: true } }, '/oauth/refreshToken'],
    ] as const) {
      const res = await call(owner, 'PATCH', `/v1/mailboxes/${mailbox}`, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json()).toMatchObject({
        code: 'validation_failed',
        errors: [expect.objectContaining({ path })],
      });
    }
    await unchanged(id, before);
    await unchanged(google, beforeGoogle);
    // Params are still checked (and converted) as before.
    expect((await call(owner, 'GET', '/v1/mailboxes/not-a-uuid')).json().code).toBe('validation_failed');
  });

  it('binds a secret to the mailbox id as stored, whatever the case of the id in the URL', async () => {
    const id = await create(owner, smtpImap('case@acme.test'));
    const res = await call(owner, 'PATCH', `/v1/mailboxes/${id.toUpperCase()}`, {
      smtp: { password: 'rotated-through-upper-case' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().id).toBe(id);
    expect(await openStored(owner.organisationId, id)).toEqual({
      smtpPassword: 'rotated-through-upper-case',
      imapPassword: IMAP_PASSWORD,
    });
    // A later change needing the stored secrets still opens them.
    const later = await call(owner, 'PATCH', `/v1/mailboxes/${id}`, { smtp: { port: 2526 } });
    expect(later.statusCode).toBe(200);
  });

  it('a new SMTP password does not replace stored IMAP credentials that do not open: 422, nothing written', async () => {
    const a = await create(owner, smtpImap('copy@acme.test'));
    const b = await create(other, smtpImap('copy@other.test'));
    await t.admin.query(
      `UPDATE outreach.mailboxes dst SET secret_ciphertext = src.secret_ciphertext, secret_wrapped_key = src.secret_wrapped_key
       FROM outreach.mailboxes src WHERE src.id = $1 AND dst.id = $2`,
      [a, b],
    );
    const before = await row(b);
    const res = await call(other, 'PATCH', `/v1/mailboxes/${b}`, { smtp: { password: 'NEW-SMTP' } });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'mailbox_secrets_unreadable',
      errors: [expect.objectContaining({ field: 'imap.password', code: 'required' })],
    });
    await unchanged(b, before);
  });

  it('names imap.password when an OAuth mailbox is given one', async () => {
    const res = await call(owner, 'POST', '/v1/mailboxes', {
      fromName: 'G',
      fromAddress: 'oauth.pw@acme.test',
      provider: 'google',
      oauth: { refreshToken: 'rt' },
      imap: { password: 'pw' },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([
      expect.objectContaining({ field: 'imap.password', code: 'oauth_mailbox' }),
    ]);
  });

  it('a mailbox a campaign uses is not deleted: 422 mailbox_in_use', async () => {
    const used = await create(owner, smtpImap('used@acme.test'));
    const campaign = await call(owner, 'POST', '/v1/campaigns', {
      name: 'Uses it',
      mailboxId: used,
      steps: [{ delayDays: 0, subject: 'Hi', body: 'Hello' }],
    });
    expect(campaign.statusCode).toBe(201);
    const refused = await call(owner, 'DELETE', `/v1/mailboxes/${used}`);
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({
      code: 'mailbox_in_use',
      detail: expect.stringContaining('campaign'),
    });
    expect(await row(used)).toBeDefined();
    const unused = await create(owner, smtpImap('unused@acme.test'));
    expect((await call(owner, 'DELETE', `/v1/mailboxes/${unused}`)).statusCode).toBe(204);
  });

  it('a change merged over a state another change replaced meanwhile is refused (409), not written over it', async () => {
    const id = await create(owner, smtpImap('race@acme.test'));
    const waiting = async () =>
      (
        await t.admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'`,
        )
      ).rows[0].n as number;
    const until = async (n: number) => {
      for (let i = 0; i < 500 && (await waiting()) < n; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await waiting()).toBe(n);
    };
    // Both changes read the mailbox, then wait for its row: the first to switch provider, the
    // second (merged over the smtp_imap state) to change a port.
    const lock = await t.admin.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM outreach.mailboxes WHERE id = $1 FOR UPDATE', [id]);
      const toGoogle = call(owner, 'PATCH', `/v1/mailboxes/${id}`, {
        provider: 'google',
        oauth: { refreshToken: 'refresh-token-race' },
      });
      await until(1);
      const port = call(owner, 'PATCH', `/v1/mailboxes/${id}`, { smtp: { port: 2526 } });
      await until(2);
      await lock.query('ROLLBACK');
      const [switched, late] = await Promise.all([toGoogle, port]);
      expect(switched.statusCode).toBe(200);
      expect(late.statusCode).toBe(409);
      expect(late.json()).toMatchObject({ code: 'mailbox_changed_concurrently' });
      expect(late.headers['retry-after']).toBe('1');
    } finally {
      lock.release();
    }
    const mailbox = (await call(owner, 'GET', `/v1/mailboxes/${id}`)).json();
    expect(mailbox).toMatchObject({
      provider: 'google',
      smtp: { host: 'smtp.gmail.com', password: { configured: false } },
      oauth: { refreshToken: { configured: true } },
    });
    expect(await openStored(owner.organisationId, id)).toEqual({ refreshToken: 'refresh-token-race' });
    // Sent again, it applies over the new state.
    expect((await call(owner, 'PATCH', `/v1/mailboxes/${id}`, { smtp: { port: 587 } })).statusCode).toBe(200);
  });

  it('a new host or no TLS takes the secret again in the same change: the stored one never goes elsewhere', async () => {
    const id = await create(owner, smtpImap('host@acme.test', 'tls'));
    await markMailboxVerified(t.admin, id);
    const before = await row(id);
    for (const [payload, fields] of [
      [{ smtp: { host: 'mail.elsewhere.test', security: 'starttls' } }, ['smtp.password']],
      [{ imap: { host: 'mail.elsewhere.test' }, smtp: { password: 'new-smtp' } }, ['imap.password']],
      [{ smtp: { security: 'none' } }, ['smtp.password']],
      [
        { smtp: { host: 'mail.elsewhere.test' }, imap: { host: 'mail.elsewhere.test' } },
        ['smtp.password', 'imap.password'],
      ],
    ] as const) {
      const res = await call(owner, 'PATCH', `/v1/mailboxes/${id}`, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(422);
      expect(res.json().code).toBe('secret_required_for_host_change');
      expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual(fields);
      await unchanged(id, before);
    }
    // The same host, or another port, keeps the stored secret.
    expect(
      (await call(owner, 'PATCH', `/v1/mailboxes/${id}`, { smtp: { host: '127.0.0.1', port: 2526 } }))
        .statusCode,
    ).toBe(200);
    const moved = await call(owner, 'PATCH', `/v1/mailboxes/${id}`, {
      smtp: { host: 'mail.elsewhere.test', port: 587, security: 'starttls', password: 'for-elsewhere' },
    });
    expect(moved.statusCode).toBe(200);
    expect(await openStored(owner.organisationId, id)).toEqual({
      smtpPassword: 'for-elsewhere',
      imapPassword: IMAP_PASSWORD,
    });

    const google = await create(owner, {
      fromName: 'G',
      fromAddress: 'host.g@acme.test',
      provider: 'google',
      oauth: { refreshToken: 'refresh-token-host' },
    });
    const token = await call(owner, 'PATCH', `/v1/mailboxes/${google}`, {
      imap: { host: 'mail.elsewhere.test' },
    });
    expect(token.statusCode).toBe(422);
    expect(token.json()).toMatchObject({
      code: 'secret_required_for_host_change',
      errors: [expect.objectContaining({ field: 'oauth.refreshToken' })],
    });
    const withToken = await call(owner, 'PATCH', `/v1/mailboxes/${google}`, {
      imap: { host: 'mail.elsewhere.test' },
      oauth: { refreshToken: 'refresh-token-new' },
    });
    expect(withToken.statusCode).toBe(200);
    expect(withToken.json().imap.host).toBe('mail.elsewhere.test');
  });

  it("another IMAP account drops the poller's checkpoint of the old INBOX; a new password or SMTP server keeps it", async () => {
    const id = await create(owner, smtpImap('inbox@acme.test'));
    await markMailboxVerified(t.admin, id);
    const polledAt = new Date('2026-03-01T10:00:00Z');
    // As the poller leaves it: UIDVALIDITY and last UID of the INBOX it read, when it last caught up.
    const checkpoint = () =>
      t.admin.query(
        `INSERT INTO outreach.mailbox_sync_states (organisation_id, mailbox_id, folder, uid_validity, last_uid, last_polled_at)
         VALUES ($1, $2, 'INBOX', 1796560170, 6, $3)
         ON CONFLICT (organisation_id, mailbox_id, folder) DO UPDATE SET uid_validity = 1796560170, last_uid = 6`,
        [owner.organisationId, id, polledAt],
      );
    const state = async () =>
      (
        await t.admin.query(
          `SELECT uid_validity, last_uid, last_polled_at FROM outreach.mailbox_sync_states WHERE mailbox_id = $1`,
          [id],
        )
      ).rows;
    const kept = [{ uid_validity: '1796560170', last_uid: '6', last_polled_at: polledAt }];
    // Another account's INBOX (the same server may give it the same UIDVALIDITY): its UIDs are not
    // the old ones, so it is read from shortly before the last poll, not from UID 6.
    const reset = [{ uid_validity: null, last_uid: '0', last_polled_at: polledAt }];
    await checkpoint();
    for (const payload of [{ smtp: { password: 'rotated' } }, { smtp: { port: 2526 } }, { dailyLimit: 20 }]) {
      expect((await call(owner, 'PATCH', `/v1/mailboxes/${id}`, payload)).statusCode).toBe(200);
      expect(await state(), JSON.stringify(payload)).toEqual(kept);
    }
    for (const payload of [
      { imap: { user: 'other.inbox@acme.test' } },
      { imap: { port: 1144 } },
      { imap: { host: 'mail.elsewhere.test', security: 'starttls', password: 'for-elsewhere' } },
    ]) {
      await checkpoint();
      expect((await call(owner, 'PATCH', `/v1/mailboxes/${id}`, payload)).statusCode).toBe(200);
      expect(await state(), JSON.stringify(payload)).toEqual(reset);
    }
  });
});
