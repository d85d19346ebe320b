import { createHash } from 'node:crypto';
import { roleUrl } from '@prospectflow/db-schema';
import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { proveSendingDomain } from './mailboxes.js';

export interface TestDb {
  db: TestDatabase;
  /** Superuser pool: seeds and asserts across organisations. */
  admin: pg.Pool;
  /** URL of the runtime role the worker uses. */
  workerUrl: string;
  close(): Promise<void>;
}

export async function openTestDb(label: string): Promise<TestDb> {
  const db = await createTestDatabase(label);
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 4 });
  return {
    db,
    admin,
    workerUrl: roleUrl(db.adminUrl, 'worker'),
    async close() {
      await admin.end();
      await db.drop();
    },
  };
}

/** A uuid derived from a label, so assignments (HMAC of ids) are the same on every run. */
export function fixedUuid(label: string): string {
  const h = createHash('sha256').update(label).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Organisation with an id fixed by its slug (so every id derived from it is stable across runs). */
export async function createOrg(admin: pg.Pool, slug: string): Promise<string> {
  const { rows } = await admin.query(
    'INSERT INTO iam.organisations (id, name, slug) VALUES ($1, $2, $3) RETURNING id',
    [fixedUuid(`org:${slug}`), slug, slug],
  );
  return rows[0].id;
}

export interface MailboxSeed {
  address: string;
  name?: string;
  dailyLimit?: number;
  windowStart?: string;
  windowEnd?: string;
  days?: number[];
  timeZone?: string;
  /** Default: a relay mailbox of a domain the organisation proved (DNS TXT, DKIM key), verified. */
  proved?: boolean;
}

/** A platform-relay mailbox; proved by default, as only those may send. */
export async function createMailbox(admin: pg.Pool, org: string, m: MailboxSeed): Promise<string> {
  const proved = m.proved ?? true;
  if (proved) await proveSendingDomain(admin, org, m.address.split('@')[1]!);
  const { rows } = await admin.query(
    `INSERT INTO outreach.mailboxes (organisation_id, from_name, from_address, daily_limit, window_start, window_end, window_days, time_zone,
       verification_status, verified_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9 THEN 'verified' ELSE 'unverified' END, CASE WHEN $9 THEN now() END)
     RETURNING id`,
    [
      org,
      m.name ?? 'Sales Team',
      m.address,
      m.dailyLimit ?? 1000,
      m.windowStart ?? '09:00',
      m.windowEnd ?? '17:00',
      m.days ?? [1, 2, 3, 4, 5],
      m.timeZone ?? 'Europe/Paris',
      proved,
    ],
  );
  return rows[0].id;
}

export interface StepSeed {
  delayDays: number;
  subject: string | null;
  body?: string;
  exitOnReply?: boolean;
  variants?: { label: string; weight: number; subject?: string; body: string }[];
}

export interface CampaignSeed {
  id: string;
  steps: { id: string; variants: { id: string; label: string }[] }[];
}

export async function createCampaign(
  admin: pg.Pool,
  org: string,
  mailboxId: string,
  steps: StepSeed[],
  options: { status?: string; tracking?: boolean; name?: string } = {},
): Promise<CampaignSeed> {
  const { rows } = await admin.query(
    `INSERT INTO outreach.campaigns (organisation_id, name, status, mailbox_id, tracking_enabled) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [org, options.name ?? 'Campaign', options.status ?? 'active', mailboxId, options.tracking ?? true],
  );
  const campaign: CampaignSeed = { id: rows[0].id, steps: [] };
  for (const [i, s] of steps.entries()) {
    const step = await admin.query(
      `INSERT INTO outreach.workflow_steps (organisation_id, campaign_id, step_order, delay_days, exit_on_reply, subject_template, body_template)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [
        org,
        campaign.id,
        i + 1,
        s.delayDays,
        s.exitOnReply ?? true,
        s.subject,
        s.body ?? s.variants?.[0]?.body ?? 'Hello',
      ],
    );
    const seeded = { id: step.rows[0].id as string, variants: [] as { id: string; label: string }[] };
    if (s.variants) {
      const exp = await admin.query(
        'INSERT INTO outreach.step_experiments (organisation_id, id, step_id) VALUES ($1, $2, $3) RETURNING id',
        [org, fixedUuid(`${org}:${options.name ?? 'Campaign'}:exp:${i}`), seeded.id],
      );
      for (const v of s.variants) {
        const vr = await admin.query(
          `INSERT INTO outreach.step_experiment_variants (organisation_id, experiment_id, label, weight, subject_template, body_template)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
          [org, exp.rows[0].id, v.label, v.weight, v.subject ?? null, v.body],
        );
        seeded.variants.push({ id: vr.rows[0].id, label: v.label });
      }
    }
    campaign.steps.push(seeded);
  }
  return campaign;
}

export interface PersonSeed {
  email: string;
  firstName?: string | null;
  lastName?: string;
  company?: string;
  title?: string;
}

/** People with a company and a position each; returns position ids in order. */
export async function createPositions(admin: pg.Pool, org: string, people: PersonSeed[]): Promise<string[]> {
  if (people.length === 0) return [];
  const company = await admin.query(
    `INSERT INTO crm.companies (organisation_id, name, domain) VALUES ($1, $2, 'acme.test') RETURNING id`,
    [org, people[0]!.company ?? 'Acme'],
  );
  const { rows } = await admin.query(
    `WITH input AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS t(email, first_name, last_name, title, n)
     ), ppl AS (
       INSERT INTO crm.people (organisation_id, first_name, last_name, custom)
       SELECT $1, first_name, coalesce(last_name, 'Doe'), jsonb_build_object('n', n) FROM input RETURNING id, (custom->>'n')::bigint AS n
     )
     INSERT INTO crm.positions (organisation_id, person_id, company_id, email, title, custom)
     SELECT $1, ppl.id, $6, input.email, input.title, jsonb_build_object('n', input.n) FROM input JOIN ppl USING (n)
     RETURNING id, (custom->>'n')::bigint AS n`,
    [
      org,
      people.map((p) => p.email),
      people.map((p) => (p.firstName === undefined ? 'Alex' : p.firstName)),
      people.map((p) => p.lastName ?? 'Doe'),
      people.map((p) => p.title ?? 'CTO'),
      company.rows[0].id,
    ],
  );
  return rows.sort((a, b) => Number(a.n) - Number(b.n)).map((r) => r.id);
}

/** Enrolls positions (fixed ids from `idLabel`) and enqueues their schedule_enrollment task due at `at`. */
export async function enroll(
  admin: pg.Pool,
  org: string,
  campaignId: string,
  positionIds: string[],
  at: Date,
  idLabel = 'e',
): Promise<string[]> {
  const ids = positionIds.map((_, i) => fixedUuid(`${org}:${idLabel}:${i}`));
  await admin.query(
    `INSERT INTO outreach.campaign_enrollments (organisation_id, id, campaign_id, position_id)
     SELECT $1, id, $2, position_id FROM unnest($3::uuid[], $4::uuid[]) AS t(id, position_id)`,
    [org, campaignId, ids, positionIds],
  );
  await admin.query(
    `INSERT INTO outreach.tasks (organisation_id, type, run_at, enrollment_id, priority, dedupe_key)
     SELECT $1, 'schedule_enrollment', $2, id, 10, 'schedule:' || id FROM unnest($3::uuid[]) AS id`,
    [org, at, ids],
  );
  return ids;
}
