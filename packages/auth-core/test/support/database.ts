import { randomUUID } from 'node:crypto';
import { roleUrl } from '@prospectflow/db-schema';
import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import type { Membership, Role } from '../../src/contracts.js';

export interface TestDb {
  database: TestDatabase;
  /** As prospectflow_app, like the API at runtime. */
  app: pg.Pool;
  /** Superuser, for seeding and inspection only. */
  admin: pg.Pool;
  close(): Promise<void>;
}

export async function openTestDb(label: string): Promise<TestDb> {
  const database = await createTestDatabase(label);
  const app = new pg.Pool({ connectionString: roleUrl(database.adminUrl, 'app'), max: 20 });
  const admin = new pg.Pool({ connectionString: database.adminUrl, max: 2 });
  return {
    database,
    app,
    admin,
    async close() {
      await app.end();
      await admin.end();
      await database.drop();
    },
  };
}

export async function createOrganisation(
  admin: pg.Pool,
  status: 'active' | 'suspended' = 'active',
): Promise<string> {
  const slug = `org-${randomUUID().slice(0, 8)}`;
  const { rows } = await admin.query<{ id: string }>(
    'INSERT INTO iam.organisations (name, slug, status) VALUES ($1, $2, $3) RETURNING id',
    [slug, slug, status],
  );
  return rows[0]!.id;
}

export async function createUser(admin: pg.Pool, sub: string, poolId: string): Promise<string> {
  const { rows } = await admin.query<{ id: string }>(
    'INSERT INTO iam.users (cognito_sub, cognito_pool_id) VALUES ($1, $2) RETURNING id',
    [sub, poolId],
  );
  return rows[0]!.id;
}

export async function setMembership(
  admin: pg.Pool,
  organisationId: string,
  userId: string,
  role: Role,
  status: Membership['status'] = 'active',
): Promise<void> {
  await admin.query(
    `INSERT INTO iam.organisation_users (organisation_id, user_id, role, status) VALUES ($1, $2, $3, $4)
     ON CONFLICT (organisation_id, user_id) DO UPDATE SET role = EXCLUDED.role, status = EXCLUDED.status`,
    [organisationId, userId, role, status],
  );
}

export async function removeMembership(
  admin: pg.Pool,
  organisationId: string,
  userId: string,
): Promise<void> {
  await admin.query('DELETE FROM iam.organisation_users WHERE organisation_id = $1 AND user_id = $2', [
    organisationId,
    userId,
  ]);
}
