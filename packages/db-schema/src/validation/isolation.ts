import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { type CatalogTable, isTenantTable } from '../catalog.js';
import { ROLES } from '../roles.js';
import { attempt, describeOutcome, inRolledBackTransaction, setTenant } from './session.js';
import { type Check, failIfAny, type ValidationContext } from './types.js';

const NO_TENANT = 'PF001';
const quoted = (t: CatalogTable) => `"${t.schema}"."${t.table}"`;

async function tablesWithRows(ctx: ValidationContext, tables: CatalogTable[]): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: ctx.backupUrl });
  await client.connect();
  try {
    const found = new Set<string>();
    for (const t of tables) {
      const { rows } = await client.query(`SELECT EXISTS (SELECT 1 FROM ${quoted(t)}) AS e`);
      if (rows[0]?.e) found.add(t.name);
    }
    return found;
  } finally {
    await client.end();
  }
}

/**
 * SELECT/INSERT/UPDATE/DELETE on every tenant table must raise PF001. A policy evaluated as a
 * Filter over an empty table never calls the guard, so for empty tables the scan is forced onto an
 * index (the guard then runs as an Index Cond) — a table with rows must raise as planned.
 */
async function expectNoTenantEverywhere(client: pg.Client, ctx: ValidationContext): Promise<string[]> {
  const tenant = (await ctx.catalog()).filter(isTenantTable);
  const populated = await tablesWithRows(ctx, tenant);
  const problems: string[] = [];
  for (const t of tenant) {
    const statements = {
      SELECT: `SELECT count(*) FROM ${quoted(t)}`,
      INSERT: `INSERT INTO ${quoted(t)} DEFAULT VALUES`,
      UPDATE: `UPDATE ${quoted(t)} SET organisation_id = organisation_id`,
      DELETE: `DELETE FROM ${quoted(t)}`,
    };
    for (const [verb, sql] of Object.entries(statements)) {
      let outcome = await attempt(client, sql);
      if (outcome.ok && verb !== 'INSERT' && !populated.has(t.name)) {
        await client.query('SAVEPOINT pf_plan');
        await client.query('SET LOCAL enable_seqscan = off');
        await client.query('SET LOCAL enable_bitmapscan = off');
        outcome = await attempt(client, sql);
        await client.query('ROLLBACK TO SAVEPOINT pf_plan');
      }
      if (outcome.ok || outcome.code !== NO_TENANT)
        problems.push(`${verb} on ${t.name} without an organisation ${describeOutcome(outcome)}`);
    }
  }
  return problems;
}

interface Fixture {
  a: string;
  b: string;
}

/**
 * Two organisations created inside the (rolled back) transaction, each as the API creates one: in
 * a unit of its own id, through app.create_current_organisation (the app role has no privilege on
 * iam.organisations itself).
 */
async function twoOrganisations(client: pg.Client): Promise<Fixture> {
  const tag = randomBytes(4).toString('hex');
  const fixture = { a: randomUUID(), b: randomUUID() };
  for (const [label, id] of Object.entries(fixture)) {
    await setTenant(client, id);
    await client.query(`SELECT app.create_current_organisation($1, $2)`, [
      `Validation ${label.toUpperCase()}`,
      `pf-validate-${label}-${tag}`,
    ]);
  }
  return fixture;
}

async function insertCompany(client: pg.Client, siren = '732829320'): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO crm.companies (name, siren) VALUES ('Validation Co', $1) RETURNING id`,
    [siren],
  );
  return rows[0]!.id;
}

async function insertPerson(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO crm.people (first_name) VALUES ('Val') RETURNING id`,
  );
  return rows[0]!.id;
}

function expectCode(label: string, outcome: Awaited<ReturnType<typeof attempt>>, code: string): string[] {
  return !outcome.ok && outcome.code === code
    ? []
    : [`${label}: expected ${code}, ${describeOutcome(outcome)}`];
}

export const isolationChecks: Check[] = [
  {
    name: 'no-tenant-fresh-connection',
    description:
      'as prospectflow_app on a fresh connection, every tenant table refuses SELECT/INSERT/UPDATE/DELETE with PF001',
    async run(ctx) {
      return failIfAny(
        await inRolledBackTransaction(ctx.appUrl, (client) => expectNoTenantEverywhere(client, ctx)),
      );
    },
  },
  {
    name: 'no-tenant-reused-connection',
    description: "same, on a connection that already ran a tenant transaction (setting is '' not NULL)",
    async run(ctx) {
      const client = new pg.Client({ connectionString: ctx.appUrl });
      await client.connect();
      try {
        await client.query('BEGIN');
        await setTenant(client, randomUUID());
        await client.query('COMMIT');
        const { rows } = await client.query<{ v: string | null }>(
          `SELECT current_setting('app.organisation_id', true) AS v`,
        );
        const problems =
          rows[0]?.v === ''
            ? []
            : [`expected '' after a tenant transaction, got ${JSON.stringify(rows[0]?.v)}`];
        await client.query('BEGIN');
        try {
          problems.push(...(await expectNoTenantEverywhere(client, ctx)));
        } finally {
          await client.query('ROLLBACK');
        }
        return failIfAny(problems);
      } finally {
        await client.end();
      }
    },
  },
  {
    name: 'cross-tenant-writes-rejected',
    description:
      "inserting another organisation's id, or moving a row to it, is rejected on every tenant table",
    async run(ctx) {
      const tenant = (await ctx.catalog()).filter(isTenantTable);
      return failIfAny(
        await inRolledBackTransaction(ctx.appUrl, async (client) => {
          const { a, b } = await twoOrganisations(client);
          await setTenant(client, a);
          const problems: string[] = [];
          for (const t of tenant) {
            const outcome = await attempt(client, `INSERT INTO ${quoted(t)} (organisation_id) VALUES ($1)`, [
              b,
            ]);
            problems.push(...expectCode(`INSERT into ${t.name} with another organisation`, outcome, '42501'));
          }
          const company = await insertCompany(client);
          const moved = await attempt(client, 'UPDATE crm.companies SET organisation_id = $1 WHERE id = $2', [
            b,
            company,
          ]);
          problems.push(...expectCode('UPDATE moving crm.companies to another organisation', moved, '42501'));
          return problems;
        }),
      );
    },
  },
  {
    name: 'cross-tenant-fk-rejected',
    description: "a composite FK refuses a reference to another organisation's row (RI checks bypass RLS)",
    async run(ctx) {
      return failIfAny(
        await inRolledBackTransaction(ctx.appUrl, async (client) => {
          const { a, b } = await twoOrganisations(client);
          await setTenant(client, a);
          const foreignCompany = await insertCompany(client);
          await setTenant(client, b);
          const person = await insertPerson(client);
          const outcome = await attempt(
            client,
            'INSERT INTO crm.positions (person_id, company_id) VALUES ($1, $2)',
            [person, foreignCompany],
          );
          return expectCode("position referencing another organisation's company", outcome, '23503');
        }),
      );
    },
  },
  {
    name: 'cross-tenant-duplicates-allowed',
    description: 'the same unique value (SIREN, email) in two organisations raises no violation',
    async run(ctx) {
      return failIfAny(
        await inRolledBackTransaction(ctx.appUrl, async (client) => {
          const { a, b } = await twoOrganisations(client);
          const problems: string[] = [];
          for (const org of [a, b]) {
            await setTenant(client, org);
            const company = await attempt(
              client,
              `INSERT INTO crm.companies (name, siren) VALUES ('Dup', '552081317')`,
            );
            if (!company.ok)
              problems.push(`duplicate SIREN in organisation ${org}: ${describeOutcome(company)}`);
            const suppression = await attempt(
              client,
              `INSERT INTO outreach.suppressions (email, reason) VALUES ('dup@example.com', 'manual')`,
            );
            if (!suppression.ok)
              problems.push(
                `duplicate suppression email in organisation ${org}: ${describeOutcome(suppression)}`,
              );
            await client.query(`INSERT INTO crm.companies (name, siren) VALUES ('Dup', '552081317')`);
          }
          return problems;
        }),
      );
    },
  },
  {
    name: 'tenant-isolation',
    description: "an organisation sees only its rows; another organisation's rows are invisible",
    async run(ctx) {
      return failIfAny(
        await inRolledBackTransaction(ctx.appUrl, async (client) => {
          const { a, b } = await twoOrganisations(client);
          await setTenant(client, a);
          const mine = await insertCompany(client);
          await setTenant(client, b);
          const theirs = await insertCompany(client);
          const { rows } = await client.query<{ id: string; organisation_id: string }>(
            'SELECT id, organisation_id FROM crm.companies WHERE id = ANY($1)',
            [[mine, theirs]],
          );
          return rows.length === 1 && rows[0]!.id === theirs
            ? []
            : [`organisation B saw ${JSON.stringify(rows)}`];
        }),
      );
    },
  },
  {
    name: 'app-role-cannot-escalate',
    description: 'prospectflow_app cannot TRUNCATE, ALTER, CREATE, or SET ROLE',
    async run(ctx) {
      return failIfAny(
        await inRolledBackTransaction(ctx.appUrl, async (client) => {
          const problems: string[] = [];
          const cases: [string, string][] = [
            ['TRUNCATE crm.companies', '42501'],
            ['ALTER TABLE crm.companies ADD COLUMN pf_validate int', '42501'],
            ['ALTER TABLE crm.companies NO FORCE ROW LEVEL SECURITY', '42501'],
            ['CREATE TABLE public.pf_validate (id int)', '42501'],
            [`SET ROLE ${ROLES.migrator}`, '42501'],
            [`SET ROLE ${ROLES.backup}`, '42501'],
          ];
          for (const [sql, code] of cases)
            problems.push(...expectCode(sql, await attempt(client, sql), code));
          return problems;
        }),
      );
    },
  },
  {
    name: 'check-constraints-reject-bad-values',
    description: 'CHECKs reject bad SIREN, enum values, time zone, slug, email',
    async run(ctx) {
      return failIfAny(
        await inRolledBackTransaction(ctx.appUrl, async (client) => {
          const { a } = await twoOrganisations(client);
          await setTenant(client, a);
          const problems: string[] = [];
          const cases: [string, string][] = [
            [`INSERT INTO crm.companies (name, siren) VALUES ('Bad', '123456789')`, 'SIREN check digit'],
            [`SELECT app.update_current_organisation(NULL, 'Not A Slug')`, 'organisation slug'],
            [`INSERT INTO outreach.campaigns (name, status) VALUES ('Bad', 'bogus')`, 'campaign status'],
            [
              `INSERT INTO outreach.mailboxes (from_name, from_address, time_zone) VALUES ('x', 'x@example.com', 'Mars/Olympus')`,
              'IANA time zone',
            ],
            [
              `INSERT INTO outreach.mailboxes (from_name, from_address) VALUES ('x', 'not-an-email')`,
              'mailbox address',
            ],
          ];
          for (const [sql, label] of cases)
            problems.push(...expectCode(label, await attempt(client, sql), '23514'));
          const company = await insertCompany(client);
          const person = await insertPerson(client);
          const status = await attempt(
            client,
            `INSERT INTO crm.positions (person_id, company_id, email_status) VALUES ($1, $2, 'bogus')`,
            [person, company],
          );
          problems.push(...expectCode('position email_status', status, '23514'));
          return problems;
        }),
      );
    },
  },
  {
    name: 'guard-ignores-search-path',
    description:
      'the guards resolve the same under a hostile search_path (pg_temp first, temp tables named text and uuid); empty raises PF001, malformed 22P02',
    async run(ctx) {
      return failIfAny(
        await inRolledBackTransaction(ctx.appUrl, async (client) => {
          const { a } = await twoOrganisations(client);
          const user = randomUUID();
          await client.query(
            `SELECT set_config('app.organisation_id', $1, true), set_config('app.user_id', $2, true)`,
            [a, user],
          );
          // Written before the hostile path so the UPDATE below has a row (the INSERT is tried under it).
          const id = await insertCompany(client);
          // A temp table is also a type in pg_temp: with pg_temp first, an unqualified `text` or
          // `uuid` in a guard would resolve to these.
          await client.query('CREATE TEMP TABLE text (x int); CREATE TEMP TABLE uuid (x int)');
          await client.query('SET LOCAL search_path = pg_temp, public, pg_catalog');
          const problems: string[] = [];
          const read = await attempt(
            client,
            `SELECT 1 FROM app.current_organisation_id() o, app.current_user_id() u WHERE o = $1 AND u = $2`,
            [a, user],
          );
          if (!read.ok || read.rows !== 1)
            problems.push(`guards under a hostile search_path ${describeOutcome(read)}`);
          const insert = await attempt(client, `INSERT INTO crm.companies (name) VALUES ('Validation Co 2')`);
          if (!insert.ok) problems.push(`tenant INSERT ${describeOutcome(insert)}`);
          const update = await attempt(client, `UPDATE crm.companies SET name = 'Renamed' WHERE id = $1`, [
            id,
          ]);
          if (!update.ok || update.rows !== 1) problems.push(`tenant UPDATE ${describeOutcome(update)}`);
          await client.query(`SELECT set_config('app.organisation_id', '', true)`);
          problems.push(
            ...expectCode(
              'empty organisation',
              await attempt(client, 'SELECT app.current_organisation_id()'),
              NO_TENANT,
            ),
          );
          await client.query(`SELECT set_config('app.organisation_id', 'not-a-uuid', true)`);
          problems.push(
            ...expectCode(
              'malformed organisation',
              await attempt(client, 'SELECT app.current_organisation_id()'),
              '22P02',
            ),
          );
          return problems;
        }),
      );
    },
  },
  {
    name: 'updated-at-moves',
    description: 'an UPDATE moves updated_at forward',
    async run(ctx) {
      return failIfAny(
        await inRolledBackTransaction(ctx.appUrl, async (client) => {
          const { a } = await twoOrganisations(client);
          await setTenant(client, a);
          const id = await insertCompany(client);
          const { rows } = await client.query<{ moved: boolean }>(
            `UPDATE crm.companies SET name = 'Renamed' WHERE id = $1 RETURNING updated_at > created_at AS moved`,
            [id],
          );
          return rows[0]?.moved ? [] : ['updated_at did not move on UPDATE'];
        }),
      );
    },
  },
];
