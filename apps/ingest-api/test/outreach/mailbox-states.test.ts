import { startTestDns, type TestDns } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { markMailboxVerified } from '../helpers/fixtures.js';

/**
 * Issue 16: no send leaves with a from-address the organisation has not proved. A campaign takes on
 * only verified mailboxes (activation, and a change of an active campaign's mailboxId); a relay
 * mailbox stops counting as verified when its domain's proof goes; a mailbox the provider refused
 * (`error`) is used again only after a new check.
 */
describe('mailbox states: verified, withdrawn with their domain, in error', () => {
  let t: TestApp;
  let owner: TestUser;
  let other: TestUser;
  let dns: TestDns;
  let dnsClosed = false;
  const call = (user: TestUser, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    t.request(user, { method, url, ...(payload ? { payload } : {}) });
  const smtpImap = (address: string, password = 'app-password') => ({
    fromName: 'Sales',
    fromAddress: address,
    smtp: { host: '127.0.0.1', port: 2525, security: 'none', password },
    imap: { host: '127.0.0.1', port: 1143, security: 'none', password },
  });
  const mailbox = async (user: TestUser, body: object): Promise<string> => {
    const created = await call(user, 'POST', '/v1/mailboxes', body);
    expect(created.statusCode).toBe(201);
    return created.json().id;
  };
  const campaign = async (mailboxId: string): Promise<string> => {
    const created = await call(owner, 'POST', '/v1/campaigns', {
      name: 'States',
      mailboxId,
      steps: [{ delayDays: 0, subject: 'Hi', body: 'Hello' }],
    });
    expect(created.statusCode).toBe(201);
    return created.json().id;
  };
  const row = async (id: string) =>
    (
      await t.admin.query(
        `SELECT status, paused_reason, last_error_code, verification_status, credentials_version
         FROM outreach.mailboxes WHERE id = $1`,
        [id],
      )
    ).rows[0];
  /** The live (pending) verify_mailbox tasks of a mailbox, by credentials version. */
  const pendingChecks = async (id: string) =>
    (
      await t.admin.query(
        `SELECT (payload->>'credentialsVersion')::int AS version FROM outreach.tasks
         WHERE type = 'verify_mailbox' AND status = 'pending' AND payload->>'mailboxId' = $1 ORDER BY 1`,
        [id],
      )
    ).rows.map((r) => r.version);
  /** What the worker does after a provider refused the mailbox's login while sending (outcome.ts). */
  const refusedByProvider = (id: string) =>
    t.admin.query(
      `UPDATE outreach.mailboxes SET status = 'error', paused_reason = 'SMTP authentication failed: 535 5.7.8',
         last_error_code = 'smtp:auth' WHERE id = $1`,
      [id],
    );
  /** A proved sending domain through the API (DNS TXT published, then checked). */
  const provedDomain = async (user: TestUser, domain: string) => {
    const created = (await call(user, 'POST', '/v1/sending-domains', { domain })).json();
    dns.setTxt(created.proof.name, [created.proof.value]);
    const proved = await call(user, 'POST', `/v1/sending-domains/${created.id}/verify`);
    expect(proved.statusCode).toBe(200);
    return created as { id: string; proof: { name: string; value: string } };
  };
  /** What the worker's verify_mailbox records for a relay mailbox of a proved domain. */
  const workerVerified = (id: string) =>
    t.admin.query(
      `UPDATE outreach.mailboxes SET verification_status = 'verified', verified_at = now() WHERE id = $1`,
      [id],
    );

  beforeAll(async () => {
    dns = await startTestDns();
    t = await buildTestApp({ label: 'mailbox_states', env: { DNS_SERVERS: dns.server } });
    owner = await t.signUp();
    other = await t.signUp();
  });
  afterAll(async () => {
    await t?.close();
    if (!dnsClosed) await dns?.close();
  });

  it('an active campaign cannot switch its mailboxId to an unverified mailbox, nor one in error', async () => {
    const good = await mailbox(owner, smtpImap('good@switch.test'));
    const fresh = await mailbox(owner, smtpImap('fresh@switch.test'));
    await markMailboxVerified(t.admin, good);
    const id = await campaign(good);
    expect((await call(owner, 'POST', `/v1/campaigns/${id}/activate`)).statusCode).toBe(200);

    const refused = await call(owner, 'PATCH', `/v1/campaigns/${id}`, { name: 'Renamed', mailboxId: fresh });
    expect(refused.statusCode).toBe(422);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json()).toMatchObject({
      code: 'mailbox_unverified',
      mailboxId: fresh,
      verification: 'unverified',
    });
    // Nothing half-written: neither the mailbox nor the name changed.
    expect((await call(owner, 'GET', `/v1/campaigns/${id}`)).json()).toMatchObject({
      name: 'States',
      mailboxId: good,
      status: 'active',
    });

    await markMailboxVerified(t.admin, fresh);
    await refusedByProvider(fresh);
    const inError = await call(owner, 'PATCH', `/v1/campaigns/${id}`, { mailboxId: fresh });
    expect(inError.statusCode).toBe(422);
    expect(inError.json()).toMatchObject({
      code: 'mailbox_in_error',
      mailboxId: fresh,
      failure: 'smtp:auth',
    });

    // A verified mailbox is taken; the same mailboxId again is no change (no check).
    const third = await mailbox(owner, smtpImap('third@switch.test'));
    await markMailboxVerified(t.admin, third);
    const switched = await call(owner, 'PATCH', `/v1/campaigns/${id}`, { mailboxId: third });
    expect(switched.statusCode).toBe(200);
    expect(switched.json().mailboxId).toBe(third);

    // A draft may point at an unverified mailbox: activation checks it.
    const draft = await campaign(good);
    const drafted = await call(owner, 'PATCH', `/v1/campaigns/${draft}`, { mailboxId: fresh });
    expect(drafted.statusCode).toBe(200);
    expect((await call(owner, 'POST', `/v1/campaigns/${draft}/activate`)).json().code).toBe(
      'mailbox_in_error',
    );
  });

  it('deleting a sending domain withdraws its relay mailboxes (this organisation only)', async () => {
    const domain = await provedDomain(owner, 'gone.test');
    const relay = await mailbox(owner, { fromName: 'News', fromAddress: 'News@Gone.test' });
    const unrelated = await mailbox(owner, { fromName: 'News', fromAddress: 'news@kept.test' });
    await markMailboxVerified(t.admin, unrelated);
    await workerVerified(relay);
    // Another organisation with the same domain, proved on its own.
    const theirs = await mailbox(other, { fromName: 'News', fromAddress: 'news@gone.test' });
    await markMailboxVerified(t.admin, theirs);
    const id = await campaign(relay);
    expect((await call(owner, 'POST', `/v1/campaigns/${id}/activate`)).statusCode).toBe(200);
    expect((await call(owner, 'POST', `/v1/campaigns/${id}/pause`)).statusCode).toBe(200);
    const version = (await row(relay)).credentials_version;

    expect((await call(owner, 'DELETE', `/v1/sending-domains/${domain.id}`)).statusCode).toBe(204);
    const withdrawn = (await call(owner, 'GET', `/v1/mailboxes/${relay}`)).json();
    expect(withdrawn.verification).toMatchObject({ status: 'unverified', verifiedAt: null });
    // A new check at a new credentials version (an in-flight check of the old one is dropped).
    expect((await row(relay)).credentials_version).toBe(version + 1);
    expect(await pendingChecks(relay)).toContain(version + 1);
    const refused = await call(owner, 'POST', `/v1/campaigns/${id}/activate`);
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'mailbox_unverified', mailboxId: relay });

    expect((await row(unrelated)).verification_status).toBe('verified');
    expect((await row(theirs)).verification_status).toBe('verified');
  });

  it('a re-check that finds the TXT proof gone unproves the domain and withdraws its relay mailboxes', async () => {
    const domain = await provedDomain(owner, 'flap.test');
    const relay = await mailbox(owner, { fromName: 'News', fromAddress: 'news@flap.test' });
    await workerVerified(relay);
    const id = await campaign(relay);
    const version = (await row(relay)).credentials_version;

    dns.setTxt(domain.proof.name, ['v=spf1 -all']);
    const gone = await call(owner, 'POST', `/v1/sending-domains/${domain.id}/verify`);
    expect(gone.statusCode).toBe(422);
    expect(gone.json()).toMatchObject({ code: 'domain_not_proved', found: ['v=spf1 -all'] });
    const stored = (await call(owner, 'GET', `/v1/sending-domains/${domain.id}`)).json();
    expect(stored).toMatchObject({ verifiedAt: null, lastError: expect.stringContaining('no TXT record') });
    expect((await row(relay)).verification_status).toBe('unverified');
    expect(await pendingChecks(relay)).toContain(version + 1);
    const refused = await call(owner, 'POST', `/v1/campaigns/${id}/activate`);
    expect(refused.json()).toMatchObject({ code: 'mailbox_unverified', mailboxId: relay });
    // Checking an unproved domain again changes nothing more.
    await call(owner, 'POST', `/v1/sending-domains/${domain.id}/verify`);
    expect((await row(relay)).credentials_version).toBe(version + 1);

    // Published again: proved again, and its relay mailboxes are queued for their check (the
    // worker ran the one the withdrawal queued).
    await t.admin.query(`UPDATE outreach.tasks SET status = 'succeeded' WHERE payload->>'mailboxId' = $1`, [
      relay,
    ]);
    dns.setTxt(domain.proof.name, [domain.proof.value]);
    const back = await call(owner, 'POST', `/v1/sending-domains/${domain.id}/verify`);
    expect(back.statusCode).toBe(200);
    expect(back.json().verifiedAt).toEqual(expect.any(String));
    expect(await pendingChecks(relay)).toEqual([version + 1]);
  });

  it('a relay mailbox counts as verified only while its domain is proved', async () => {
    // Verified by an earlier check, but no proved domain now (e.g. the proof vanished between checks).
    const relay = await mailbox(owner, { fromName: 'News', fromAddress: 'news@never.test' });
    await workerVerified(relay);
    const id = await campaign(relay);
    const refused = await call(owner, 'POST', `/v1/campaigns/${id}/activate`);
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({
      code: 'mailbox_unverified',
      mailboxId: relay,
      failure: 'domain:domain_not_proved',
    });
    await provedDomain(owner, 'never.test');
    expect((await call(owner, 'POST', `/v1/campaigns/${id}/activate`)).statusCode).toBe(200);
  });

  it('a mailbox in error is used again only after a new check', async () => {
    const box = await mailbox(owner, smtpImap('err@acme.test'));
    await markMailboxVerified(t.admin, box);
    await refusedByProvider(box);
    const id = await campaign(box);

    // Activation on it is refused, saying what to do.
    const activate = await call(owner, 'POST', `/v1/campaigns/${id}/activate`);
    expect(activate.statusCode).toBe(422);
    expect(activate.json()).toMatchObject({ code: 'mailbox_in_error', mailboxId: box, failure: 'smtp:auth' });
    expect(activate.json().detail).toContain(`POST /v1/mailboxes/${box}/verify`);

    // status active alone does not clear it: refused, nothing changed.
    const before = await row(box);
    const resume = await call(owner, 'PATCH', `/v1/mailboxes/${box}`, { status: 'active', dailyLimit: 7 });
    expect(resume.statusCode).toBe(422);
    expect(resume.json()).toMatchObject({ code: 'mailbox_in_error', mailboxId: box });
    expect(await row(box)).toEqual(before);
    expect((await call(owner, 'GET', `/v1/mailboxes/${box}`)).json().dailyLimit).not.toBe(7);

    // Other changes that keep it in error are fine, and the check can be asked for.
    expect((await call(owner, 'PATCH', `/v1/mailboxes/${box}`, { dailyLimit: 7 })).json()).toMatchObject({
      status: 'error',
      dailyLimit: 7,
    });
    expect((await call(owner, 'POST', `/v1/mailboxes/${box}/verify`)).statusCode).toBe(202);
    expect(await pendingChecks(box)).toEqual([before.credentials_version]);

    // Paused by hand: out of error, but unverified with a new check queued, so a later
    // status active cannot skip it.
    const paused = await call(owner, 'PATCH', `/v1/mailboxes/${box}`, { status: 'paused' });
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ status: 'paused', verification: { status: 'unverified' } });
    expect(await pendingChecks(box)).toContain(before.credentials_version + 1);
    expect((await call(owner, 'PATCH', `/v1/mailboxes/${box}`, { status: 'active' })).statusCode).toBe(200);
    expect((await call(owner, 'POST', `/v1/campaigns/${id}/activate`)).json()).toMatchObject({
      code: 'mailbox_unverified',
      mailboxId: box,
    });

    // New credentials with status active: accepted, unverified until the worker's check passes.
    const second = await mailbox(owner, smtpImap('err2@acme.test'));
    await markMailboxVerified(t.admin, second);
    await refusedByProvider(second);
    const fixed = await call(owner, 'PATCH', `/v1/mailboxes/${second}`, {
      status: 'active',
      smtp: { password: 'new-app-password' },
    });
    expect(fixed.statusCode).toBe(200);
    expect(fixed.json()).toMatchObject({
      status: 'active',
      pausedReason: null,
      verification: { status: 'unverified', failure: null },
    });
    expect(await pendingChecks(second)).toContain((await row(second)).credentials_version);
  });

  it('a failed DNS lookup keeps an earlier proof (it says nothing about the record)', async () => {
    const domain = await provedDomain(owner, 'flaky.test');
    const relay = await mailbox(owner, { fromName: 'News', fromAddress: 'news@flaky.test' });
    await workerVerified(relay);
    await dns.close(); // the API's DNS server stops answering
    dnsClosed = true;
    const flap = await call(owner, 'POST', `/v1/sending-domains/${domain.id}/verify`);
    expect(flap.statusCode).toBe(200);
    expect(flap.json()).toMatchObject({
      verifiedAt: expect.any(String),
      lastError: expect.stringContaining('failed'),
    });
    expect((await row(relay)).verification_status).toBe('verified');
  });
});
