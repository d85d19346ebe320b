import { proofRecord } from '@prospectflow/mailboxes';
import { PROOF_UNCONFIRMED_LIMIT_DAYS } from '@prospectflow/outreach-core';
import { startTestDns, type TestDns } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { outreachHandlers } from '../src/handlers.js';
import { createSmtpMailer, type Mailer } from '../src/outreach/mailer.js';
import { enqueueDomainChecks } from '../src/schedules.js';
import {
  createCampaign,
  createMailbox,
  createOrg,
  createPositions,
  enroll,
  openTestDb,
  type TestDb,
} from './support/db.js';
import { proveSendingDomain, testMailServices } from './support/mailboxes.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';
import { PUBLIC_BASE_URL, type TestWorker, testWorker } from './support/worker.js';

const SIX_HOURS = 6 * 3600_000;
// Every day, all day: the test runs at whatever time the machine's clock says (tasks the API-side
// code enqueues are due at the database's now()).
const ALWAYS_OPEN = { windowStart: '00:00', windowEnd: '23:59', days: [1, 2, 3, 4, 5, 6, 7] };

describe('periodic re-check of proved sending domains (check_sending_domains)', { timeout: 60_000 }, () => {
  let t: TestDb;
  let dns: TestDns;
  let relay: SmtpSink;
  let w: TestWorker;
  let orgA: string;
  let orgB: string;
  let mailer: Mailer;
  let flakyMailbox: string;

  /** Publishes (or, with `published` false, removes) the domain's proof record in the test DNS. */
  async function publishProof(org: string, domain: string, published = true) {
    const { rows } = await t.admin.query(
      'SELECT proof_token FROM outreach.sending_domains WHERE organisation_id = $1 AND domain = $2',
      [org, domain],
    );
    const record = proofRecord(domain, rows[0].proof_token);
    dns.setTxt(record.name, published ? [record.value] : []);
  }

  const domainRow = async (org: string, domain: string) =>
    (
      await t.admin.query(
        `SELECT verified_at, last_checked_at, last_error FROM outreach.sending_domains
         WHERE organisation_id = $1 AND domain = $2`,
        [org, domain],
      )
    ).rows[0];

  const mailboxRow = async (id: string) =>
    (
      await t.admin.query(
        `SELECT verification_status, last_error_code, verification FROM outreach.mailboxes WHERE id = $1`,
        [id],
      )
    ).rows[0];

  /**
   * Runs every task due within the next minute: what a task enqueues with `enqueue` is due at the
   * database's now(), later than a clock set before the drain.
   */
  const drainNow = () => {
    w.clock.set(new Date(Date.now() + 60_000));
    return w.worker.drain();
  };

  /** Makes the organisation's domains look last checked `hoursAgo` hours ago. */
  const checkedHoursAgo = (org: string, hoursAgo: number) =>
    t.admin.query(
      `UPDATE outreach.sending_domains SET last_checked_at = now() - make_interval(hours => $2)
       WHERE organisation_id = $1`,
      [org, hoursAgo],
    );

  beforeAll(async () => {
    t = await openTestDb('domain-checks');
    dns = await startTestDns();
    relay = await startSmtpSink();
    orgA = await createOrg(t.admin, 'domain-checks-a');
    orgB = await createOrg(t.admin, 'domain-checks-b');
    mailer = createSmtpMailer({ url: relay.url });
    w = testWorker(t.workerUrl, relay.url, new ManualClock(new Date()), {
      handlers: outreachHandlers({
        mailer,
        mail: testMailServices({ dnsServers: [dns.server] }),
        publicBaseUrl: PUBLIC_BASE_URL,
        variantSeed: 'domain-checks',
      }),
    });
  });
  afterAll(async () => {
    await w?.close();
    mailer?.close();
    await relay?.close();
    await dns?.close();
    await t?.close();
  });

  it('withdraws a domain whose TXT proof is gone, and the relay stops sending as it; a present proof stays', async () => {
    const gone = await createMailbox(t.admin, orgA, { address: 'news@gone.test', ...ALWAYS_OPEN });
    const kept = await createMailbox(t.admin, orgA, { address: 'news@kept.test', ...ALWAYS_OPEN });
    await publishProof(orgA, 'kept.test');
    // Another organisation's domain without its record, checked an hour ago: not due yet.
    const otherB = await createMailbox(t.admin, orgB, { address: 'news@other.test', ...ALWAYS_OPEN });
    await checkedHoursAgo(orgA, 7);
    await checkedHoursAgo(orgB, 1);

    // The relay sends as gone.test while its proof stands.
    const campaign = await createCampaign(t.admin, orgA, gone, [{ delayDays: 0, subject: 'Hello' }]);
    const [first, second] = await createPositions(t.admin, orgA, [
      { email: 'first@prospects.test' },
      { email: 'second@prospects.test' },
    ]);
    await enroll(t.admin, orgA, campaign.id, [first!], w.clock.now(), 'before');
    await drainNow();
    expect(relay.mails.map((m) => m.parsed.from?.text)).toEqual([expect.stringContaining('news@gone.test')]);

    // One task for the organisation that is due (the dedupe key makes a second call a no-op).
    expect(await enqueueDomainChecks(w.pool, w.clock.now(), SIX_HOURS)).toBe(1);
    expect(await enqueueDomainChecks(w.pool, w.clock.now(), SIX_HOURS)).toBe(0);
    const queued = await t.admin.query(
      `SELECT organisation_id FROM outreach.tasks WHERE type = 'check_sending_domains' AND status = 'pending'`,
    );
    expect(queued.rows).toEqual([{ organisation_id: orgA }]);
    await drainNow();

    const goneDomain = await domainRow(orgA, 'gone.test');
    expect(goneDomain.verified_at).toBeNull();
    expect(goneDomain.last_error).toMatch(/_prospectflow\.gone\.test/);
    expect(Date.now() - goneDomain.last_checked_at.getTime()).toBeLessThan(60_000);
    const keptDomain = await domainRow(orgA, 'kept.test');
    // Confirmed now: verified_at is the last time DNS showed the proof.
    expect(Date.now() - keptDomain.verified_at.getTime()).toBeLessThan(60_000);
    expect(keptDomain.last_error).toBeNull();
    expect(Date.now() - keptDomain.last_checked_at.getTime()).toBeLessThan(60_000);
    // The withdrawn mailbox was checked again at once, and failed on its domain; the other is untouched.
    expect(await mailboxRow(gone)).toMatchObject({
      verification_status: 'failed',
      verification: { domain: { ok: false, kind: 'domain_not_proved' } },
    });
    expect((await mailboxRow(kept)).verification_status).toBe('verified');
    // Organisation B's task was never queued: its domain and mailbox are as they were.
    expect((await domainRow(orgB, 'other.test')).verified_at).not.toBeNull();
    expect((await mailboxRow(otherB)).verification_status).toBe('verified');

    // The next prospect of the campaign gets nothing from gone.test.
    await enroll(t.admin, orgA, campaign.id, [second!], w.clock.now(), 'after');
    await drainNow();
    expect(relay.mails).toHaveLength(1);
    const sentToSecond = await t.admin.query(
      `SELECT count(*)::int AS n FROM outreach.messages WHERE to_address = 'second@prospects.test'`,
    );
    expect(sentToSecond.rows[0].n).toBe(0);
  });

  it('keeps the proof when the lookup itself fails (SERVFAIL), and records why', async () => {
    flakyMailbox = await createMailbox(t.admin, orgB, { address: 'news@flaky.test', ...ALWAYS_OPEN });
    const name = proofRecord('flaky.test', 'x'.repeat(32)).name;
    dns.setFailing(name, true);
    await checkedHoursAgo(orgB, 7);
    await publishProof(orgB, 'other.test');
    try {
      expect(await enqueueDomainChecks(w.pool, w.clock.now(), SIX_HOURS)).toBe(1);
      await drainNow();
    } finally {
      dns.setFailing(name, false);
    }
    const flakyDomain = await domainRow(orgB, 'flaky.test');
    expect(flakyDomain.verified_at).not.toBeNull();
    expect(flakyDomain.last_error).toMatch(/ESERVFAIL/);
    expect((await mailboxRow(flakyMailbox)).verification_status).toBe('verified');
    expect((await domainRow(orgB, 'other.test')).last_error).toBeNull();
    // Checked just now: not due again.
    expect(await enqueueDomainChecks(w.pool, w.clock.now(), SIX_HOURS)).toBe(0);
  });

  it('withdraws a proof no lookup has confirmed for a week, even when the lookups only fail', async () => {
    const stale = await createMailbox(t.admin, orgB, { address: 'news@stale.test', ...ALWAYS_OPEN });
    const name = proofRecord('stale.test', 'x'.repeat(32)).name;
    await t.admin.query(
      `UPDATE outreach.sending_domains SET verified_at = now() - make_interval(days => $2)
       WHERE organisation_id = $1 AND domain = 'stale.test'`,
      [orgB, PROOF_UNCONFIRMED_LIMIT_DAYS + 1],
    );
    await checkedHoursAgo(orgB, 7);
    await publishProof(orgB, 'flaky.test');
    dns.setFailing(name, true);
    try {
      expect(await enqueueDomainChecks(w.pool, w.clock.now(), SIX_HOURS)).toBe(1);
      await drainNow();
    } finally {
      dns.setFailing(name, false);
    }
    const staleDomain = await domainRow(orgB, 'stale.test');
    expect(staleDomain.verified_at).toBeNull();
    expect(staleDomain.last_error).toMatch(/ESERVFAIL.*not confirmed for 7 days/);
    expect(await mailboxRow(stale)).toMatchObject({
      verification_status: 'failed',
      verification: { domain: { ok: false, kind: 'domain_not_proved' } },
    });
    // The organisation's other domains, published, are confirmed again.
    expect((await domainRow(orgB, 'flaky.test')).last_error).toBeNull();
    expect((await mailboxRow(flakyMailbox)).verification_status).toBe('verified');
  });

  it('proves nothing new: a domain never proved is not looked up by the schedule', async () => {
    const id = await proveSendingDomain(t.admin, orgA, 'pending.test');
    await checkedHoursAgo(orgA, 1);
    await t.admin.query(
      `UPDATE outreach.sending_domains SET verified_at = NULL, last_checked_at = now() - interval '30 days' WHERE id = $1`,
      [id],
    );
    expect(await enqueueDomainChecks(w.pool, w.clock.now(), SIX_HOURS)).toBe(0);
  });
});
