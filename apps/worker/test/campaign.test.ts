import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import {
  createCampaign,
  createMailbox,
  createOrg,
  createPositions,
  enroll,
  openTestDb,
  type TestDb,
} from './support/db.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';
import { PUBLIC_BASE_URL, type TestWorker, testWorker } from './support/worker.js';

// Monday 2 March 2026, 08:00 in Paris (CET, UTC+1): one hour before the mailboxes' window opens.
const START = '2026-03-02T07:00:00Z';
const MON_0900_PARIS = '2026-03-02T08:00:00.000Z';
const WED_0900_PARIS = '2026-03-04T08:00:00.000Z';
const NEXT_MON_0900_PARIS = '2026-03-09T08:00:00.000Z';

const STEPS = [
  {
    delayDays: 0,
    subject: null,
    variants: [
      {
        label: 'A',
        weight: 3,
        subject: 'Quick question, {{person.first_name}}',
        body: 'Hi {{person.first_name}}, variant A for {{company.name}}.',
      },
      {
        label: 'B',
        weight: 1,
        subject: 'Idea for {{company.name}}',
        body: 'Hello {{person.first_name}}, variant B ({{position.title}}).',
      },
    ],
  },
  { delayDays: 2, subject: null, body: 'Following up, {{person.first_name}}.' },
  { delayDays: 3, subject: 'Last note for {{company.name}}', body: 'Bye {{person.first_name | "there"}}.' },
];

function header(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/, 1)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  return head.match(new RegExp(`^${name}: (.*)$`, 'im'))?.[1]?.trim() ?? '';
}

describe('a 3-step campaign with an A/B test on step 1, two organisations', { timeout: 180_000 }, () => {
  let t: TestDb;
  let smtp: SmtpSink;
  let w: TestWorker;
  const clock = new ManualClock(START);
  const orgs: {
    id: string;
    mailbox: string;
    campaign: Awaited<ReturnType<typeof createCampaign>>;
    emails: string[];
  }[] = [];

  beforeAll(async () => {
    t = await openTestDb('campaign');
    smtp = await startSmtpSink();
    for (const [slug, count] of [
      ['alpha', 200],
      ['beta', 40],
    ] as const) {
      const id = await createOrg(t.admin, slug);
      const mailbox = await createMailbox(t.admin, id, {
        address: `sales@${slug}.test`,
        name: `${slug} sales`,
      });
      const campaign = await createCampaign(t.admin, id, mailbox, STEPS);
      const emails = Array.from({ length: count }, (_, i) => `p${i}@${slug}-prospects.test`);
      const positions = await createPositions(
        t.admin,
        id,
        emails.map((email, i) => ({ email, firstName: `P${i}`, company: `${slug} corp` })),
      );
      await enroll(t.admin, id, campaign.id, positions, clock.now());
      orgs.push({ id, mailbox, campaign, emails });
    }
    w = testWorker(t.workerUrl, smtp.url, clock);
  });

  afterAll(async () => {
    await w?.close();
    await smtp?.close();
    await t?.close();
  });

  it('schedules step 1 at the window opening, sending nothing before', async () => {
    expect(await w.worker.drain()).toBe(240);
    expect(smtp.mails).toHaveLength(0);
    const { rows } = await t.admin.query(
      `SELECT run_at, count(*)::int AS n FROM outreach.tasks WHERE type = 'send_step' AND status = 'pending' GROUP BY run_at`,
    );
    expect(rows).toEqual([{ run_at: new Date(MON_0900_PARIS), n: 240 }]);
  });

  it('sends step 1 to the right recipients from the right mailbox, with a stable weighted variant', async () => {
    clock.set(MON_0900_PARIS);
    await w.worker.drain();
    expect(smtp.mails).toHaveLength(240);
    for (const org of orgs) {
      const slug = org.emails[0]!.split('@')[1]!.replace('-prospects.test', '');
      const mine = smtp.mails.filter((m) => m.parsed.from?.value[0]?.address === `sales@${slug}.test`);
      expect(mine.map((m) => m.envelopeTo[0]).sort()).toEqual([...org.emails].sort());
    }
    const { rows } = await t.admin.query(
      `SELECT v.label, count(*)::int AS n FROM outreach.messages m JOIN outreach.step_experiment_variants v ON v.id = m.variant_id
       WHERE m.direction = 'outbound' GROUP BY v.label ORDER BY v.label`,
    );
    const a = rows.find((r) => r.label === 'A')!.n;
    const b = rows.find((r) => r.label === 'B')!.n;
    expect(a + b).toBe(240);
    expect(Math.abs(a / 240 - 0.75)).toBeLessThan(0.08);
    // The pick is stored and matches what was sent.
    const stored = await t.admin.query(
      `SELECT count(*)::int AS n FROM outreach.enrollment_step_variant_assignments a
       JOIN outreach.messages m ON m.enrollment_id = a.enrollment_id AND m.step_id = a.step_id AND m.variant_id = a.variant_id`,
    );
    expect(stored.rows[0].n).toBe(240);
    const sample = smtp.mails.find((m) => m.envelopeTo[0] === 'p7@alpha-prospects.test')!;
    const label = sample.parsed.text?.includes('variant A') ? 'A' : 'B';
    expect(sample.parsed.subject).toBe(label === 'A' ? 'Quick question, P7' : 'Idea for alpha corp');
    expect(sample.parsed.text?.trim()).toBe(
      label === 'A' ? 'Hi P7, variant A for alpha corp.' : 'Hello P7, variant B (CTO).',
    );
  });

  it('puts Message-ID, both unsubscribe headers and the tracking pixel on every message', async () => {
    const { rows } = await t.admin.query(
      `SELECT m.to_address, m.message_id_header, m.unsubscribe_token, p.token AS pixel
       FROM outreach.messages m JOIN tracking.pixels p ON p.message_id = m.id WHERE m.status = 'sent'`,
    );
    expect(rows).toHaveLength(240);
    const byTo = new Map(rows.map((r) => [r.to_address, r]));
    for (const mail of smtp.mails) {
      const row = byTo.get(mail.envelopeTo[0]!)!;
      expect(mail.parsed.messageId).toBe(row.message_id_header);
      const unsubscribe = header(mail.raw, 'List-Unsubscribe');
      expect(unsubscribe).toContain(`<${PUBLIC_BASE_URL}/u/${row.unsubscribe_token}>`);
      // The mailto goes to the sending mailbox itself, whose inbox is read (applyInbound).
      expect(unsubscribe).toContain(
        `<mailto:${mail.parsed.from?.value[0]?.address}?subject=unsubscribe%20${row.unsubscribe_token}>`,
      );
      expect(header(mail.raw, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
      expect(mail.parsed.html).toContain(`${PUBLIC_BASE_URL}/t/${row.pixel}.gif`);
      expect(row.pixel).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(row.unsubscribe_token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
  });

  it('sends step 2 exactly delay_days later, threaded under step 1', async () => {
    clock.set(new Date(new Date(WED_0900_PARIS).getTime() - 1000));
    await w.worker.drain();
    expect(smtp.mails).toHaveLength(240);
    clock.set(WED_0900_PARIS);
    await w.worker.drain();
    expect(smtp.mails).toHaveLength(480);
    const first = new Map(smtp.mails.slice(0, 240).map((m) => [m.envelopeTo[0], m]));
    for (const mail of smtp.mails.slice(240)) {
      const previous = first.get(mail.envelopeTo[0])!;
      expect(mail.parsed.inReplyTo).toBe(previous.parsed.messageId);
      expect(mail.parsed.subject).toBe(`Re: ${previous.parsed.subject}`);
    }
  });

  it('moves step 3 off the weekend to the next window, then completes every enrollment', async () => {
    clock.set('2026-03-07T08:00:00Z'); // Saturday: 3 days after Wednesday, outside window_days
    await w.worker.drain();
    expect(smtp.mails).toHaveLength(480);
    clock.set(NEXT_MON_0900_PARIS);
    await w.worker.drain();
    expect(smtp.mails).toHaveLength(720);
    expect(smtp.mails.slice(480).every((m) => m.parsed.subject?.startsWith('Last note for '))).toBe(true);
    const timeline = await t.admin.query(
      `SELECT m.enrollment_id, array_agg(m.sent_at ORDER BY s.step_order) AS sent
       FROM outreach.messages m JOIN outreach.workflow_steps s ON s.id = m.step_id GROUP BY m.enrollment_id`,
    );
    expect(timeline.rows).toHaveLength(240);
    for (const row of timeline.rows) {
      expect(row.sent.map((d: Date) => d.toISOString())).toEqual([
        MON_0900_PARIS,
        WED_0900_PARIS,
        NEXT_MON_0900_PARIS,
      ]);
    }
    const status = await t.admin.query(
      `SELECT status, count(*)::int AS n FROM outreach.campaign_enrollments GROUP BY status`,
    );
    expect(status.rows).toEqual([{ status: 'completed', n: 240 }]);
    const stats = await t.admin.query(`SELECT sum(sent)::int AS sent FROM tracking.campaign_daily_stats`);
    expect(stats.rows[0].sent).toBe(720);
    const leftover = await t.admin.query(
      `SELECT count(*)::int AS n FROM outreach.tasks WHERE status <> 'succeeded'`,
    );
    expect(leftover.rows[0].n).toBe(0);
  });
});
