import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, roleUrl } from '../src/roles.js';
import { seedDemo } from '../src/seed.js';
import { CHECKS, validationContext } from '../src/validation/index.js';

/**
 * Migration 1008: a SECURITY DEFINER function whose search_path does not name pg_temp searches
 * pg_temp first for types, so a runtime role's temp domain ran the role's own code as the owner.
 */
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase('definer_search_path');
  await seedDemo(roleUrl(database.adminUrl, ROLES.migrator));
  const admin = new pg.Client({ connectionString: database.adminUrl });
  await admin.connect();
  try {
    // organisation_for_mailbox_address resolves its `uuid[]` variable only for a verified mailbox.
    await admin.query("UPDATE outreach.mailboxes SET verification_status = 'verified', verified_at = now()");
  } finally {
    await admin.end();
  }
});
afterAll(async () => {
  await database?.drop();
});

describe('SECURITY DEFINER functions and pg_temp', () => {
  it("a runtime role's temp domain named uuid never runs as the function's owner", async () => {
    const app = new pg.Client({ connectionString: roleUrl(database.adminUrl, ROLES.app) });
    await app.connect();
    try {
      await app.query(`CREATE FUNCTION pg_temp.shadow(v pg_catalog.uuid) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'shadow ran as %', current_user; END $$`);
      await app.query('CREATE DOMAIN pg_temp.uuid AS pg_catalog.uuid CHECK (pg_temp.shadow(VALUE))');
      // The session's first call compiles the function, with the temp domain already in place.
      const result = await app
        .query("SELECT app.organisation_for_mailbox_address('dev@prospectflow.local') AS o")
        .then(
          (r) => `returned ${r.rows[0]?.o}`,
          (error: Error) => error.message,
        );
      expect(result).not.toMatch(/shadow ran as/);
      expect(result).toMatch(/^returned [0-9a-f-]{36}$/);
    } finally {
      await app.end();
    }
  });

  it('the security-definer-search-path check fails for a function pinned without pg_temp', async () => {
    const admin = new pg.Client({ connectionString: database.adminUrl });
    await admin.connect();
    try {
      const check = CHECKS.find((c) => c.name === 'security-definer-search-path')!;
      const context = validationContext(roleUrl(database.adminUrl, ROLES.migrator));
      await check.run(context);
      await admin.query('ALTER FUNCTION app.user_memberships(uuid) SET search_path = pg_catalog');
      await expect(check.run(context)).rejects.toThrow(/app\.user_memberships\(uuid\)/);
    } finally {
      await admin.query('ALTER FUNCTION app.user_memberships(uuid) SET search_path = pg_catalog, pg_temp');
      await admin.end();
    }
  });
});
