import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, roleUrl } from '../src/roles.js';
import { seedDemo } from '../src/seed.js';
import { CHECKS, runValidation, validationContext } from '../src/validation/index.js';

let db: TestDatabase;
let migratorUrl: string;

beforeAll(async () => {
  db = await createTestDatabase('validate');
  migratorUrl = roleUrl(db.adminUrl, ROLES.migrator);
  // Some tables hold rows (the realistic case for the no-tenant checks), others stay empty.
  await seedDemo(migratorUrl);
});
afterAll(async () => {
  await db.drop();
});

describe('validation suite against a freshly migrated database', () => {
  const context = () => validationContext(migratorUrl);
  for (const check of CHECKS) {
    it(`${check.name}: ${check.description}`, async () => {
      await check.run(context());
    }, 60_000);
  }
});

/** A freshly migrated database broken by `sabotage` (run as superuser); dropped after `check`. */
async function withSabotagedDatabase(
  label: string,
  sabotage: string,
  check: (migratorUrl: string) => Promise<void>,
): Promise<void> {
  const broken = await createTestDatabase(label);
  try {
    const admin = new pg.Client({ connectionString: broken.adminUrl });
    await admin.connect();
    try {
      await admin.query(sabotage);
    } finally {
      await admin.end();
    }
    await check(roleUrl(broken.adminUrl, ROLES.migrator));
  } finally {
    await broken.drop();
  }
}

describe('validation suite catches a sabotaged database', () => {
  it('reports FAIL for each broken rule and PASS for the rest', async () => {
    const sabotage = `
      ALTER TABLE crm.people NO FORCE ROW LEVEL SECURITY;
      CREATE POLICY bypass ON crm.companies FOR SELECT USING (current_setting('app.bypass', true) = 'on' OR organisation_id = app.current_organisation_id());
      CREATE INDEX companies_name_idx ON crm.companies (name);
      GRANT TRUNCATE ON crm.companies TO prospectflow_app;
      ALTER TABLE outreach.mailboxes ADD CONSTRAINT mailboxes_id_key UNIQUE (id);
      ALTER TABLE outreach.campaigns ADD CONSTRAINT campaigns_mailbox_single_fkey FOREIGN KEY (mailbox_id) REFERENCES outreach.mailboxes (id);
      ALTER TABLE outreach.campaigns DROP CONSTRAINT campaigns_status_check;
      ALTER TABLE crm.companies DROP CONSTRAINT companies_pkey CASCADE;
      ALTER TABLE crm.companies ADD PRIMARY KEY (id);
      GRANT SELECT (email) ON iam.users TO prospectflow_worker;
      GRANT EXECUTE ON FUNCTION app.user_account(uuid) TO PUBLIC;
    `;
    await withSabotagedDatabase('sabotage', sabotage, async (migratorUrl) => {
      const results = await runValidation(migratorUrl);
      const failed = Object.fromEntries(results.filter((r) => !r.ok).map((r) => [r.name, r.detail]));
      expect(Object.keys(failed).sort()).toEqual(
        [
          'app-role-cannot-escalate',
          'check-constraints-reject-bad-values',
          'citus-distributable',
          'cross-tenant-fk-rejected',
          'enum-checks',
          'functions-not-public',
          'rls-forced',
          'rls-policy',
          'runtime-role-attributes',
          'runtime-roles-tenant-tables-only',
          'tenant-foreign-keys',
          'tenant-primary-keys',
          'tenant-uniques-and-indexes',
        ].sort(),
      );
      expect(failed['rls-forced']).toContain('crm.people');
      expect(failed['rls-policy']).toContain('crm.companies: 2 policies');
      expect(failed['tenant-uniques-and-indexes']).toContain('companies_name_idx');
      expect(failed['runtime-role-attributes']).toContain('TRUNCATE on crm.companies');
      expect(failed['runtime-roles-tenant-tables-only']).toContain(
        'prospectflow_worker has SELECT on iam.users',
      );
      expect(failed['functions-not-public']).toContain('app.user_account(uuid) is executable by PUBLIC');
      expect(failed['tenant-foreign-keys']).toContain('campaigns_mailbox_single_fkey');
      expect(failed['app-role-cannot-escalate']).toContain('TRUNCATE crm.companies');
      expect(failed['enum-checks']).toContain('outreach.campaigns.status');
      expect(failed['tenant-primary-keys']).toContain('crm.companies primary key is (id)');
    });
  }, 120_000);

  it('privileges the runtime roles hold through PUBLIC count as theirs (TRUNCATE, the global tables)', async () => {
    // A grant to PUBLIC is a grant to prospectflow_app: TRUNCATE ignores RLS (every organisation's
    // tasks gone) and SELECT on iam.users reads every user's email.
    const sabotage = `
      GRANT TRUNCATE ON outreach.tasks TO PUBLIC;
      GRANT SELECT ON iam.users TO PUBLIC;
      GRANT UPDATE (name) ON iam.organisations TO PUBLIC;
      GRANT SELECT ON public.schema_version TO PUBLIC;
    `;
    await withSabotagedDatabase('sabotage_public', sabotage, async (migratorUrl) => {
      const app = new pg.Client({ connectionString: roleUrl(migratorUrl, ROLES.app) });
      await app.connect();
      try {
        // What the checks must report is real: the app role can do it.
        await app.query('BEGIN');
        await app.query('TRUNCATE outreach.tasks');
        await app.query('SELECT count(*) FROM iam.users');
        await app.query('ROLLBACK');
      } finally {
        await app.end();
      }
      const run = async (name: string) => {
        const check = CHECKS.find((c) => c.name === name)!;
        return await check.run(validationContext(migratorUrl)).then(
          () => 'passed',
          (error: Error) => error.message,
        );
      };
      const attributes = await run('runtime-role-attributes');
      expect(attributes).toContain('prospectflow_app has TRUNCATE on outreach.tasks');
      expect(attributes).toContain('prospectflow_worker has TRUNCATE on outreach.tasks');
      const tenantOnly = await run('runtime-roles-tenant-tables-only');
      expect(tenantOnly).toContain('prospectflow_app has SELECT on iam.users');
      expect(tenantOnly).toContain('prospectflow_worker has SELECT on iam.users');
      expect(tenantOnly).toContain('prospectflow_app has UPDATE on iam.organisations');
      expect(tenantOnly).toContain('prospectflow_app has SELECT on public.schema_version');
    });
  }, 60_000);

  it('guard-ignores-search-path fails for a guard whose names follow the search_path', async () => {
    // The pre-0740 body without its pinned search_path: `uuid` can then be a temp table's type.
    const sabotage = `CREATE OR REPLACE FUNCTION app.current_user_id() RETURNS uuid LANGUAGE sql STABLE
      AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$`;
    await withSabotagedDatabase('sabotage_guard', sabotage, async (migratorUrl) => {
      const check = CHECKS.find((c) => c.name === 'guard-ignores-search-path')!;
      await expect(check.run(validationContext(migratorUrl))).rejects.toThrow(
        /guards under a hostile search_path failed/,
      );
    });
  }, 60_000);
});
