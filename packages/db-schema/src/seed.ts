import pg from 'pg';

/** Fixed ids of the demo data, so reruns are no-ops and tests/docs can point at rows. */
export const DEMO_IDS = {
  organisation: '00000000-0000-4000-8000-000000000001',
  ownerUser: '00000000-0000-4000-8000-000000000101',
  membership: '00000000-0000-4000-8000-000000000201',
  companies: [
    '00000000-0000-4000-8000-000000000301',
    '00000000-0000-4000-8000-000000000302',
    '00000000-0000-4000-8000-000000000303',
  ],
  people: [
    '00000000-0000-4000-8000-000000000401',
    '00000000-0000-4000-8000-000000000402',
    '00000000-0000-4000-8000-000000000403',
  ],
  positions: [
    '00000000-0000-4000-8000-000000000501',
    '00000000-0000-4000-8000-000000000502',
    '00000000-0000-4000-8000-000000000503',
  ],
  mailbox: '00000000-0000-4000-8000-000000000601',
  campaign: '00000000-0000-4000-8000-000000000701',
  steps: [
    '00000000-0000-4000-8000-000000000801',
    '00000000-0000-4000-8000-000000000802',
    '00000000-0000-4000-8000-000000000803',
  ],
} as const;

export const DEMO_ORGANISATION = { slug: 'demo', name: 'Demo Org' } as const;
export const DEMO_OWNER_EMAIL = 'dev@prospectflow.local';
/** = auth-core's devSubForEmail(DEMO_OWNER_EMAIL): `pnpm token --email dev@prospectflow.local` signs in as this owner. */
export const DEMO_OWNER_COGNITO_SUB = 'fc56047b-38fd-4ead-89ab-c9abab3beaf3';

const COMPANIES = [
  { name: 'Acme Industrie', domain: 'acme-industrie.example', siren: '732829320', naf: '28.29B' },
  { name: 'Bleu Logistique', domain: 'bleu-logistique.example', siren: '552081317', naf: '52.29A' },
  { name: 'Cèdre Conseil', domain: 'cedre-conseil.example', siren: '542051180', naf: '70.22Z' },
];
/** The demo people, one per company, in DEMO_IDS order (`pnpm dev` makes one of them reply). */
export const DEMO_PEOPLE = [
  {
    first: 'Alice',
    last: 'Martin',
    title: 'Directrice des achats',
    email: 'alice.martin@acme-industrie.example',
  },
  {
    first: 'Bruno',
    last: 'Durand',
    title: 'Head of Operations',
    email: 'bruno.durand@bleu-logistique.example',
  },
  { first: 'Chloé', last: 'Petit', title: 'Associée', email: 'chloe.petit@cedre-conseil.example' },
] as const;
const STEPS = [
  { delay: 0, subject: 'Une question sur {{company.name}}', body: 'Bonjour {{person.first_name}},\n\n…' },
  { delay: 3, subject: 'Re: Une question sur {{company.name}}', body: 'Je me permets de relancer…' },
  { delay: 7, subject: 'Dernier message', body: 'Je ne vous dérangerai plus…' },
];

export interface SeedResult {
  organisationId: string;
  /** Rows inserted by this run (0 on a rerun). */
  inserted: number;
}

/**
 * Idempotent demo data: "Demo Org" (slug demo), its owner dev@prospectflow.local, three
 * companies/people/positions, a mailbox and a three-step campaign. Run as the migrator
 * (`MIGRATION_DATABASE_URL`); tenant rows are written inside a transaction that sets the organisation.
 */
export async function seedDemo(url: string): Promise<SeedResult> {
  const client = new pg.Client({ connectionString: url, application_name: 'prospectflow-seed' });
  await client.connect();
  let inserted = 0;
  const run = async (sql: string, params: unknown[]) => {
    inserted += (await client.query(sql, params)).rowCount ?? 0;
  };
  try {
    await client.query('BEGIN');
    await run(`INSERT INTO iam.organisations (id, name, slug) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
      DEMO_IDS.organisation,
      DEMO_ORGANISATION.name,
      DEMO_ORGANISATION.slug,
    ]);
    await run(
      `INSERT INTO iam.users (id, cognito_sub, email, email_verified, first_name, last_name)
       VALUES ($1, $2, $3, true, 'Dev', 'Owner') ON CONFLICT DO NOTHING`,
      [DEMO_IDS.ownerUser, DEMO_OWNER_COGNITO_SUB, DEMO_OWNER_EMAIL],
    );
    await client.query(`SELECT set_config('app.organisation_id', $1, true)`, [DEMO_IDS.organisation]);
    const org = DEMO_IDS.organisation;
    await run(
      `INSERT INTO iam.organisation_users (organisation_id, id, user_id, role, status)
       VALUES ($1, $2, $3, 'owner', 'active') ON CONFLICT DO NOTHING`,
      [org, DEMO_IDS.membership, DEMO_IDS.ownerUser],
    );
    for (const [i, company] of COMPANIES.entries()) {
      await run(
        `INSERT INTO crm.companies (organisation_id, id, name, domain, siren, naf_code, country_code)
         VALUES ($1, $2, $3, $4, $5, $6, 'FR') ON CONFLICT DO NOTHING`,
        [org, DEMO_IDS.companies[i], company.name, company.domain, company.siren, company.naf],
      );
      const person = DEMO_PEOPLE[i]!;
      await run(
        `INSERT INTO crm.people (organisation_id, id, first_name, last_name) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [org, DEMO_IDS.people[i], person.first, person.last],
      );
      await run(
        `INSERT INTO crm.positions (organisation_id, id, person_id, company_id, title, email, email_status, list_name)
         VALUES ($1, $2, $3, $4, $5, $6, 'valid', 'Demo list') ON CONFLICT DO NOTHING`,
        [org, DEMO_IDS.positions[i], DEMO_IDS.people[i], DEMO_IDS.companies[i], person.title, person.email],
      );
    }
    await run(
      // Sends around the clock so the demo campaign is visible at any hour of a dev session.
      `INSERT INTO outreach.mailboxes
         (organisation_id, id, from_name, from_address, daily_limit, time_zone, window_start, window_end, window_days)
       VALUES ($1, $2, 'Dev Owner', 'dev@prospectflow.local', 50, 'Europe/Paris', '00:00', '23:59', '{1,2,3,4,5,6,7}')
       ON CONFLICT DO NOTHING`,
      [org, DEMO_IDS.mailbox],
    );
    await run(
      `INSERT INTO outreach.campaigns (organisation_id, id, name, description, status, mailbox_id)
       VALUES ($1, $2, 'Demo campaign', 'Three-step demo sequence', 'draft', $3) ON CONFLICT DO NOTHING`,
      [org, DEMO_IDS.campaign, DEMO_IDS.mailbox],
    );
    for (const [i, step] of STEPS.entries()) {
      await run(
        `INSERT INTO outreach.workflow_steps
           (organisation_id, id, campaign_id, step_order, delay_days, exit_on_reply, subject_template, body_template)
         VALUES ($1, $2, $3, $4, $5, true, $6, $7) ON CONFLICT (organisation_id, id) DO NOTHING`,
        [org, DEMO_IDS.steps[i], DEMO_IDS.campaign, i + 1, step.delay, step.subject, step.body],
      );
    }
    await client.query('COMMIT');
    return { organisationId: org, inserted };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}
