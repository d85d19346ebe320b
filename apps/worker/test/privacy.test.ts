import { loadSubjectKeys, subjectHmac } from '@prospectflow/outreach-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { outreachHandlers } from '../src/handlers.js';
import { createSmtpMailer } from '../src/outreach/mailer.js';
import {
  createCampaign,
  createMailbox,
  createOrg,
  createPositions,
  enroll,
  openTestDb,
  type TestDb,
} from './support/db.js';
import { testMailServices } from './support/mailboxes.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';
import { PUBLIC_BASE_URL, type TestWorker, testWorker } from './support/worker.js';

// Monday 2 March 2026, 10:00 in Paris: inside the default window.
const clock = new ManualClock('2026-03-02T09:00:00Z');
const keys = loadSubjectKeys({ PRIVACY_HMAC_KEYS: `1:${Buffer.alloc(32, 3).toString('base64')}` });
let t: TestDb;
let smtp: SmtpSink;
let w: TestWorker;
let org: string;
let positions: string[];

beforeAll(async () => {
  t = await openTestDb('privacy');
  smtp = await startSmtpSink();
  org = await createOrg(t.admin, 'privacy');
  await t.admin.query(
    `INSERT INTO iam.privacy_settings (organisation_id, art14_notice, privacy_notice_url)
     VALUES ($1, 'Vos coordonnées viennent de : {{privacy.source}}. Vous pouvez vous opposer.', 'https://privacy.test/notice')`,
    [org],
  );
  const mailbox = await createMailbox(t.admin, org, { address: 'sales@privacy.test' });
  const campaign = await createCampaign(t.admin, org, mailbox, [
    {
      delayDays: 0,
      subject: 'Bonjour {{person.first_name}}',
      body: 'Bonjour.\n\n{{privacy.notice}}\n{{privacy.notice_url}}',
    },
  ]);
  positions = await createPositions(t.admin, org, [
    { email: 'informed@prospect.test', firstName: 'Ines' },
    { email: 'erased@prospect.test', firstName: 'Eric' },
  ]);
  // The second address is on the hashed suppression list (its person came back by a path that skipped the checks).
  await t.admin.query(
    `INSERT INTO outreach.suppression_hashes (organisation_id, key_version, email_hmac, reason) VALUES ($1, 1, $2, 'erasure')`,
    [org, subjectHmac('Erased@Prospect.test', keys.current)],
  );
  await enroll(t.admin, org, campaign.id, positions, clock.now());
  const mailer = createSmtpMailer({ url: smtp.url, maxConnections: 2 });
  w = testWorker(t.workerUrl, smtp.url, clock, {
    handlers: outreachHandlers({
      mailer,
      publicBaseUrl: PUBLIC_BASE_URL,
      variantSeed: 'seed',
      subjectKeys: keys,
      mail: testMailServices(),
    }),
  });
});
afterAll(async () => {
  await w?.close();
  await smtp?.close();
  await t?.close();
});

describe('privacy on the send path', () => {
  it('puts the Art. 14 notice with the record source in the first message and records it', async () => {
    await w.worker.drain();
    expect(smtp.mails.map((m) => m.envelopeTo[0])).toEqual(['informed@prospect.test']);
    const text = smtp.mails[0]!.parsed.text ?? '';
    // Written for the recipient, not the internal source code ('system', 'api').
    expect(text).toMatch(/Vos coordonnées viennent de : entered by the organisation, \d{4}-\d{2}-\d{2}\./);
    expect(text).toContain('https://privacy.test/notice');
    const { rows } = await t.admin.query(
      'SELECT email::text, art14_notified_at IS NOT NULL AS notified FROM crm.positions WHERE id = ANY ($1::uuid[]) ORDER BY email',
      [positions],
    );
    expect(rows).toEqual([
      { email: 'erased@prospect.test', notified: false },
      { email: 'informed@prospect.test', notified: true },
    ]);
  });

  it('never sends to an address on the hashed suppression list', async () => {
    const { rows } = await t.admin.query(
      `SELECT e.status FROM outreach.campaign_enrollments e JOIN crm.positions p ON p.id = e.position_id
        WHERE p.email = 'erased@prospect.test'`,
    );
    expect(rows[0].status).toBe('unsubscribed');
  });
});
