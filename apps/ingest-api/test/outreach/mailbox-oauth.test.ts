import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { mailboxSecretBinding } from '@prospectflow/mailboxes';
import { LocalKeyProvider, SecretBox } from '@prospectflow/secrets';
import { refreshTokenGrant, startTestOAuth, type TestOAuth } from '@prospectflow/testing/mail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_SECRETS_KEYS, type TestApp, type TestUser } from '../helpers/app.js';

// Connecting a Google mailbox by consent (authorisation code + PKCE) through a real OAuth server on
// a socket: its consent page redirects back with a code, its token endpoint checks the client, the
// redirect and the PKCE verifier, and the refresh token it issues is the one the mailbox gets.

const REDIRECT = 'https://app.example.test/settings/mailboxes/oauth';
const [keyId, key] = TEST_SECRETS_KEYS.split(':') as [string, string];
const box = new SecretBox(
  new LocalKeyProvider({ active: keyId, keys: { [keyId]: Buffer.from(key, 'base64') } }),
);
// Test servers on 127.0.0.1 (allow-listed): the worker would verify the mailbox there.
const LOCAL_SERVERS = {
  smtp: { host: '127.0.0.1', port: 2525, security: 'none' },
  imap: { host: '127.0.0.1', port: 1143, security: 'none' },
};

describe('connecting a Google mailbox by consent', () => {
  const accounts = { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'pf-oauth-')) };
  let oauth: TestOAuth;
  let t: TestApp;
  let owner: TestUser;
  let admin: TestUser;
  const logs: string[] = [];

  beforeAll(async () => {
    oauth = await startTestOAuth(accounts);
    t = await buildTestApp({
      label: 'mailbox_oauth',
      env: {
        OAUTH_GOOGLE_CLIENT_ID: 'pf-web-client',
        OAUTH_GOOGLE_CLIENT_SECRET: 'pf-web-client-secret',
        OAUTH_GOOGLE_TOKEN_URL: oauth.tokenUrl,
        OAUTH_GOOGLE_AUTHORIZE_URL: oauth.authorizeUrl,
        OAUTH_REDIRECT_URL: REDIRECT,
        LOG_LEVEL: 'debug',
      },
      logStream: new Writable({
        write(chunk, _encoding, done) {
          logs.push(chunk.toString());
          done();
        },
      }),
    });
    owner = await t.signUp('owner@oauth-consent.test');
    admin = await t.join(owner, 'admin');
  });
  afterAll(async () => {
    await t?.close();
    await oauth?.close();
    fs.rmSync(accounts.dir, { recursive: true, force: true });
  });

  const start = (user: TestUser, payload: object) =>
    t.request(user, { method: 'POST', url: '/v1/mailboxes/oauth/start', payload });
  const complete = (user: TestUser, payload: object) =>
    t.request(user, { method: 'POST', url: '/v1/mailboxes/oauth/complete', payload });

  /** The user's browser on the consent page: the provider answers with a redirect to ours. */
  async function consent(authorizationUrl: string): Promise<{ code: string; state: string }> {
    const res = await fetch(authorizationUrl, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    return { code: back.searchParams.get('code')!, state: back.searchParams.get('state')! };
  }

  const stored = async (id: string) =>
    (await t.admin.query(`SELECT * FROM outreach.mailboxes WHERE id = $1`, [id])).rows[0];
  const count = async () =>
    (
      await t.admin.query(`SELECT count(*)::int AS n FROM outreach.mailboxes WHERE organisation_id = $1`, [
        owner.organisationId,
      ])
    ).rows[0].n;
  const refreshTokenOf = async (id: string) => {
    const row = await stored(id);
    const secrets = await box.openJson<{ refreshToken: string }>(
      { ciphertext: row.secret_ciphertext, wrappedKey: row.secret_wrapped_key, keyId: row.secret_key_id },
      mailboxSecretBinding(owner.organisationId, id),
    );
    return secrets.refreshToken;
  };

  it('start → consent → complete creates the mailbox with the refresh token the provider issued, sealed and never shown', async () => {
    const started = await start(owner, {
      provider: 'google',
      fromAddress: 'ana@acme.test',
      dailyLimit: 40,
      ...LOCAL_SERVERS,
    });
    expect(started.statusCode).toBe(200);
    const url = new URL(started.json().authorizationUrl);
    expect(`${url.origin}${url.pathname}`).toBe(oauth.authorizeUrl);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: 'pf-web-client',
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'https://mail.google.com/',
      code_challenge_method: 'S256',
      login_hint: 'ana@acme.test',
      access_type: 'offline',
      prompt: 'consent',
    });
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Date(started.json().expiresAt).getTime()).toBeGreaterThan(Date.now() + 9 * 60_000);

    const back = await consent(url.href);
    const done = await complete(owner, back);
    expect(done.statusCode).toBe(201);
    const mailbox = done.json();
    expect(mailbox).toMatchObject({
      provider: 'google',
      fromAddress: 'ana@acme.test',
      fromName: 'ana@acme.test',
      dailyLimit: 40,
      smtp: { host: '127.0.0.1', port: 2525, security: 'none', user: 'ana@acme.test' },
      oauth: { refreshToken: { configured: true } },
      verification: { status: 'unverified' },
    });
    expect(done.headers.location).toBe(`/v1/mailboxes/${mailbox.id}`);
    const token = await refreshTokenOf(mailbox.id);
    expect(refreshTokenGrant(accounts, token)).toEqual({ owner: 'ana@acme.test', rotating: false });
    expect(done.body).not.toContain(token);
    expect(started.body).not.toContain(token);
    expect(logs.join('')).not.toContain(token);
    expect(logs.join('')).not.toContain(back.code);
    const tasks = await t.admin.query(
      `SELECT count(*)::int AS n FROM outreach.tasks WHERE type = 'verify_mailbox' AND payload->>'mailboxId' = $1`,
      [mailbox.id],
    );
    expect(tasks.rows[0].n).toBe(1);

    // A state completes once.
    const again = await complete(owner, back);
    expect(again.statusCode).toBe(422);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect(again.json().code).toBe('oauth_state_invalid');
  });

  it('a reconnection gives the same mailbox the new token, unverified again', async () => {
    const first = await start(owner, { provider: 'google', fromAddress: 'bo@acme.test', ...LOCAL_SERVERS });
    const mailbox = (await complete(owner, await consent(first.json().authorizationUrl))).json();
    const before = await stored(mailbox.id);
    const oldToken = await refreshTokenOf(mailbox.id);
    await t.admin.query(
      `UPDATE outreach.mailboxes SET verification_status = 'verified', verified_at = now() WHERE id = $1`,
      [mailbox.id],
    );

    const mismatch = await start(owner, {
      provider: 'google',
      fromAddress: 'other@acme.test',
      mailboxId: mailbox.id,
    });
    expect(mismatch.json().code).toBe('oauth_address_mismatch');
    const withSettings = await start(owner, {
      provider: 'google',
      fromAddress: 'bo@acme.test',
      mailboxId: mailbox.id,
      dailyLimit: 5,
    });
    expect(withSettings.json().code).toBe('oauth_reconnect_settings');

    const again = await start(owner, {
      provider: 'google',
      fromAddress: 'bo@acme.test',
      mailboxId: mailbox.id,
    });
    const done = await complete(owner, await consent(again.json().authorizationUrl));
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ id: mailbox.id, verification: { status: 'unverified' } });
    const newToken = await refreshTokenOf(mailbox.id);
    expect(newToken).not.toBe(oldToken);
    expect(refreshTokenGrant(accounts, newToken)?.owner).toBe('bo@acme.test');
    expect((await stored(mailbox.id)).credentials_version).toBeGreaterThan(before.credentials_version);
  });

  it('a reconnection named by an upper-case id seals the new token to the mailbox id as stored', async () => {
    const first = await start(owner, {
      provider: 'google',
      fromAddress: 'upper.id@acme.test',
      ...LOCAL_SERVERS,
    });
    const mailbox = (await complete(owner, await consent(first.json().authorizationUrl))).json();
    const again = await start(owner, {
      provider: 'google',
      fromAddress: 'upper.id@acme.test',
      mailboxId: mailbox.id.toUpperCase(),
    });
    expect(again.statusCode).toBe(200);
    const done = await complete(owner, await consent(again.json().authorizationUrl));
    expect(done.statusCode).toBe(200);
    expect(done.json().id).toBe(mailbox.id);
    expect(refreshTokenGrant(accounts, await refreshTokenOf(mailbox.id))?.owner).toBe('upper.id@acme.test');
  });

  it('a provider outage at redemption leaves the consent pending: the same code and state complete it once the provider answers', async () => {
    const before = await count();
    const started = await start(owner, {
      provider: 'google',
      fromAddress: 'flo@acme.test',
      ...LOCAL_SERVERS,
    });
    const back = await consent(started.json().authorizationUrl);

    oauth.failCodeRedemptions(1);
    const failed = await complete(owner, back);
    expect(failed.statusCode).toBe(502);
    expect(failed.headers['content-type']).toContain('application/problem+json');
    expect(failed.json()).toMatchObject({
      code: 'oauth_provider_unavailable',
      consentPending: true,
      expiresAt: started.json().expiresAt,
    });
    expect(await count()).toBe(before);
    // Pending for its owner only, as before the outage.
    expect((await complete(admin, back)).json().code).toBe('oauth_state_invalid');

    const done = await complete(owner, back);
    expect(done.statusCode).toBe(201);
    expect(refreshTokenGrant(accounts, await refreshTokenOf(done.json().id))?.owner).toBe('flo@acme.test');
    expect(await count()).toBe(before + 1);
    expect(logs.join('')).not.toContain(back.code);

    // Throttling (429) is an outage too, not a refused code: the consent stays pending.
    const throttled = await start(owner, {
      provider: 'google',
      fromAddress: 'ida@acme.test',
      ...LOCAL_SERVERS,
    });
    const throttledBack = await consent(throttled.json().authorizationUrl);
    oauth.failCodeRedemptions(1, { status: 429, error: 'rate_limit_exceeded' });
    expect((await complete(owner, throttledBack)).json()).toMatchObject({
      code: 'oauth_provider_unavailable',
      consentPending: true,
    });
    expect((await complete(owner, throttledBack)).statusCode).toBe(201);

    // The answer lost after the provider used the code: the retry is refused, and that ends it.
    const next = await start(owner, { provider: 'google', fromAddress: 'gus@acme.test', ...LOCAL_SERVERS });
    const nextBack = await consent(next.json().authorizationUrl);
    oauth.failCodeRedemptions(1, { codeUsed: true });
    expect((await complete(owner, nextBack)).json()).toMatchObject({
      code: 'oauth_provider_unavailable',
      consentPending: true,
    });
    expect((await complete(owner, nextBack)).json().code).toBe('oauth_code_refused');
    expect((await complete(owner, nextBack)).json().code).toBe('oauth_state_invalid');
    expect(await count()).toBe(before + 2);

    // A consent stored before consents carried their expiry is not put back: start again, no 500.
    const old = await start(owner, { provider: 'google', fromAddress: 'hal@acme.test', ...LOCAL_SERVERS });
    const oldBack = await consent(old.json().authorizationUrl);
    const key = `pf:oauth-consent:${createHash('sha256').update(oldBack.state).digest('hex')}`;
    const { expiresAt: _, ...withoutExpiry } = JSON.parse((await t.app.redis!.get(key))!);
    await t.app.redis!.set(key, JSON.stringify(withoutExpiry), 'KEEPTTL');
    oauth.failCodeRedemptions(1);
    const legacy = await complete(owner, oldBack);
    expect(legacy.statusCode).toBe(502);
    expect(legacy.json()).toMatchObject({ code: 'oauth_provider_unavailable', consentPending: false });
    expect((await complete(owner, oldBack)).json().code).toBe('oauth_state_invalid');
  });

  it("another user's state, a code of another consent and a refused host fail with a problem and create nothing", async () => {
    const before = await count();
    const mine = await start(owner, { provider: 'google', fromAddress: 'cy@acme.test', ...LOCAL_SERVERS });
    const back = await consent(mine.json().authorizationUrl);
    const stolen = await complete(admin, back);
    expect(stolen.statusCode).toBe(422);
    expect(stolen.json().code).toBe('oauth_state_invalid');

    // The rightful user can still complete it: the other user's attempt did not use it up.
    expect((await complete(owner, back)).statusCode).toBe(201);
    const after = await count();
    expect(after).toBe(before + 1);

    // A code is bound to its own consent's PKCE verifier: redeemed under another state, refused.
    const first = await start(owner, { provider: 'google', fromAddress: 'cy2@acme.test', ...LOCAL_SERVERS });
    const firstBack = await consent(first.json().authorizationUrl);
    const second = await start(owner, { provider: 'google', fromAddress: 'cy2@acme.test', ...LOCAL_SERVERS });
    const secondState = new URL(second.json().authorizationUrl).searchParams.get('state')!;
    const swapped = await complete(owner, { state: secondState, code: firstBack.code });
    expect(swapped.statusCode).toBe(422);
    expect(swapped.json().code).toBe('oauth_code_refused');
    expect(await count()).toBe(after);

    const ssrf = await start(owner, {
      provider: 'google',
      fromAddress: 'dee@acme.test',
      smtp: { host: '10.1.2.3', port: 465, security: 'tls' },
    });
    expect(ssrf.statusCode).toBe(422);
    expect(ssrf.json().code).toBe('mailbox_host_refused');
  });

  /** Refresh tokens the provider has issued for an address (one per redeemed code). */
  const tokensIssuedTo = (address: string) =>
    fs
      .readdirSync(path.join(accounts.dir, 'oauth'))
      .filter((token) => refreshTokenGrant(accounts, token)?.owner === address).length;

  it('an address the organisation already sends from is refused at start as POST /v1/mailboxes refuses it; taken meanwhile, complete answers the same 409 before redeeming the code', async () => {
    const create = (fromAddress: string) =>
      t.request(owner, { method: 'POST', url: '/v1/mailboxes', payload: { fromName: 'Sales', fromAddress } });
    const existing = await create('taken@acme.test');
    expect(existing.statusCode).toBe(201);
    const duplicate = await create('Taken@acme.test');
    const started = await start(owner, {
      provider: 'google',
      fromAddress: 'Taken@acme.test',
      ...LOCAL_SERVERS,
    });
    for (const refused of [duplicate, started]) {
      expect(refused.statusCode).toBe(409);
      expect(refused.headers['content-type']).toContain('application/problem+json');
    }
    expect(duplicate.json()).toMatchObject({ code: 'mailbox_address_taken', existingId: existing.json().id });
    const { instance: _a, ...startProblem } = started.json();
    const { instance: _b, ...createProblem } = duplicate.json();
    expect(startProblem).toEqual(createProblem);
    // A PATCH to that address answers the same.
    const other = await create('other.sales@acme.test');
    const moved = await t.request(owner, {
      method: 'PATCH',
      url: `/v1/mailboxes/${other.json().id}`,
      payload: { fromAddress: 'taken@acme.test' },
    });
    expect(moved.json()).toMatchObject({ code: 'mailbox_address_taken', existingId: existing.json().id });

    // Free at start, taken before the user came back: the code is not redeemed, nothing created.
    const late = await start(owner, { provider: 'google', fromAddress: 'late@acme.test', ...LOCAL_SERVERS });
    expect(late.statusCode).toBe(200);
    const back = await consent(late.json().authorizationUrl);
    const meanwhile = await create('late@acme.test');
    const before = await count();
    const done = await complete(owner, back);
    expect(done.statusCode).toBe(409);
    expect(done.json()).toMatchObject({ code: 'mailbox_address_taken', existingId: meanwhile.json().id });
    expect(tokensIssuedTo('late@acme.test')).toBe(0);
    expect(await count()).toBe(before);
  });

  it('a provider without an OAuth client answers 503 oauth_not_configured; members cannot start', async () => {
    const res = await start(owner, { provider: 'microsoft', fromAddress: 'eve@acme.test' });
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('oauth_not_configured');
    const member = await t.join(owner, 'member');
    const refused = await start(member, { provider: 'google', fromAddress: 'eve@acme.test' });
    expect(refused.statusCode).toBe(403);
  });
});

describe('consent without a key to seal the token (no SECRETS_*)', () => {
  const accounts = { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'pf-oauth-nokey-')) };
  let oauth: TestOAuth;
  let t: TestApp;
  let owner: TestUser;

  beforeAll(async () => {
    oauth = await startTestOAuth(accounts);
    t = await buildTestApp({
      label: 'mailbox_oauth_nokey',
      env: {
        SECRETS_LOCAL_KEYS: '',
        OAUTH_GOOGLE_CLIENT_ID: 'pf-web-client',
        OAUTH_GOOGLE_CLIENT_SECRET: 'pf-web-client-secret',
        OAUTH_GOOGLE_TOKEN_URL: oauth.tokenUrl,
        OAUTH_GOOGLE_AUTHORIZE_URL: oauth.authorizeUrl,
        OAUTH_REDIRECT_URL: REDIRECT,
      },
    });
    owner = await t.signUp('owner@oauth-nokey.test');
  });
  afterAll(async () => {
    await t?.close();
    await oauth?.close();
    fs.rmSync(accounts.dir, { recursive: true, force: true });
  });

  it('start answers 503 secrets_not_configured before the user is sent to consent; complete too, before any code is redeemed', async () => {
    const started = await t.request(owner, {
      method: 'POST',
      url: '/v1/mailboxes/oauth/start',
      payload: { provider: 'google', fromAddress: 'ana@nokey.test', ...LOCAL_SERVERS },
    });
    expect(started.statusCode).toBe(503);
    expect(started.headers['content-type']).toContain('application/problem+json');
    expect(started.json().code).toBe('secrets_not_configured');
    const completed = await t.request(owner, {
      method: 'POST',
      url: '/v1/mailboxes/oauth/complete',
      payload: { state: 'A'.repeat(43), code: 'any-code' },
    });
    expect(completed.statusCode).toBe(503);
    expect(completed.json().code).toBe('secrets_not_configured');
  });
});
