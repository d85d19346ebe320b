import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_RULES, type FieldRuleName } from '../src/index.js';
import { CASES } from './cases.js';

/**
 * The database's CHECKs are the last guard behind every door: whatever a rule stores, the
 * columns accept; for SIREN, SIRET and NAF the CHECK is the rule's exact normal form, so it
 * refuses every value the rule would not store as it is.
 */
let database: TestDatabase;
let client: pg.Client;

/** rule → the columns that store its values. */
const COLUMNS: Record<FieldRuleName, Array<[table: string, column: string]>> = {
  siren: [['crm.companies', 'siren']],
  siret: [['crm.companies', 'siret']],
  naf: [['crm.companies', 'naf_code']],
  phone: [
    ['crm.companies', 'phone'],
    ['crm.people', 'phone'],
    ['crm.positions', 'phone'],
  ],
  email: [['crm.positions', 'email']],
  url: [
    ['crm.companies', 'website_url'],
    ['crm.companies', 'linkedin_url'],
    ['crm.people', 'linkedin_url'],
  ],
  domain: [['crm.companies', 'domain']],
  country: [['crm.companies', 'country_code']],
};
const EXACT: FieldRuleName[] = ['siren', 'siret', 'naf'];

let companyId: string;
let personId: string;

beforeAll(async () => {
  database = await createTestDatabase('field_rules_checks');
  client = new pg.Client({ connectionString: database.adminUrl });
  await client.connect();
  const { rows } = await client.query<{ id: string }>(
    "INSERT INTO iam.organisations (name, slug) VALUES ('Rules', 'rules') RETURNING id",
  );
  await client.query("SELECT set_config('app.organisation_id', $1, false)", [rows[0]!.id]);
  companyId = (
    await client.query<{ id: string }>("INSERT INTO crm.companies (name) VALUES ('Acme') RETURNING id")
  ).rows[0]!.id;
  personId = (
    await client.query<{ id: string }>("INSERT INTO crm.people (last_name) VALUES ('Lovelace') RETURNING id")
  ).rows[0]!.id;
});
afterAll(async () => {
  await client?.end();
  await database?.drop();
});

/** True when the column's CHECKs accept the value (tried in a rolled-back transaction). */
async function accepts(table: string, column: string, value: string): Promise<boolean> {
  const insert: Record<string, string> = {
    'crm.companies': `INSERT INTO crm.companies (name, ${column}) VALUES ('Acme', $1)`,
    'crm.people': `INSERT INTO crm.people (last_name, ${column}) VALUES ('Lovelace', $1)`,
    'crm.positions': `INSERT INTO crm.positions (person_id, company_id, ${column}) VALUES ('${personId}', '${companyId}', $1)`,
  };
  await client.query('BEGIN');
  try {
    await client.query(insert[table]!, [value]);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '23514') return false;
    throw error;
  } finally {
    await client.query('ROLLBACK');
  }
}

describe('database CHECKs agree with the field rules', () => {
  for (const rule of Object.keys(COLUMNS) as FieldRuleName[]) {
    it(`${rule}: every stored value is accepted${EXACT.includes(rule) ? ', every other value refused' : ''}`, async () => {
      for (const [table, column] of COLUMNS[rule]) {
        for (const [raw, stored] of CASES[rule]) {
          if (stored !== null)
            expect(await accepts(table, column, stored), `${table}.${column} ← ${stored}`).toBe(true);
          if (!EXACT.includes(rule)) continue;
          const outcome = FIELD_RULES[rule](raw);
          const isStoredForm = outcome.ok && outcome.value === raw;
          expect(await accepts(table, column, raw), `${table}.${column} ← ${raw}`).toBe(isStoredForm);
        }
      }
    });
  }
});
