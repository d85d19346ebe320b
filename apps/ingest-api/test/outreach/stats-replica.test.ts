import { ROLES, roleUrl } from '@prospectflow/db-schema';
import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

// A second database stands in for a streaming replica: it holds the same campaign with other
// numbers, so an answer tells which server it came from. (A real replica has the primary's rows
// seconds later; the routing is what is under test.)
let replica: TestDatabase;
let replicaAdmin: pg.Pool;
let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  replica = await createTestDatabase('stats-replica');
  replicaAdmin = new pg.Pool({ connectionString: replica.adminUrl, max: 2 });
  t = await buildTestApp({
    label: 'stats-primary',
    env: { DATABASE_READ_URL: roleUrl(replica.adminUrl, ROLES.app) },
  });
  user = await t.signUp('owner@replica.test');
});
afterAll(async () => {
  await t?.close();
  await replicaAdmin?.end();
  await replica?.drop();
});

/** Copies rows by primary key from the primary to the "replica" (foreign keys off, as replication would). */
async function replicate(table: string, column: string, value: string): Promise<void> {
  const { rows } = await t.admin.query(`SELECT to_jsonb(r) AS row FROM ${table} r WHERE r.${column} = $1`, [
    value,
  ]);
  const client = await replicaAdmin.connect();
  try {
    await client.query(`SET session_replication_role = replica`);
    for (const { row } of rows)
      await client.query(`INSERT INTO ${table} SELECT * FROM jsonb_populate_record(NULL::${table}, $1)`, [
        row,
      ]);
  } finally {
    await client.query(`RESET session_replication_role`);
    client.release();
  }
}

async function statsRow(pool: pg.Pool, campaignId: string, sent: number): Promise<void> {
  await pool.query(
    `INSERT INTO tracking.campaign_daily_stats (organisation_id, campaign_id, day, sent, opened)
     SELECT organisation_id, id, DATE '2026-03-02', $2, 1 FROM outreach.campaigns WHERE id = $1`,
    [campaignId, sent],
  );
}

describe('DATABASE_READ_URL: campaign statistics read from the replica', () => {
  it('serves stats from the replica and everything else from the primary', async () => {
    const org = user.organisationId;
    const created = await t.request(user, {
      method: 'POST',
      url: '/v1/campaigns',
      payload: { name: 'Replicated', steps: [{ delayDays: 0, subject: 'Hi', body: 'Hello' }] },
    });
    expect(created.statusCode).toBe(201);
    const campaignId = created.json().id as string;
    await replicate('iam.organisations', 'id', org);
    await replicate('outreach.campaigns', 'organisation_id', org);
    await statsRow(t.admin, campaignId, 5);
    await statsRow(replicaAdmin, campaignId, 7);

    const stats = await t.request(user, { method: 'GET', url: `/v1/campaigns/${campaignId}/stats` });
    expect(stats.statusCode).toBe(200);
    expect(stats.json().totals).toMatchObject({ sent: 7, opened: 1 });

    // Writes and ordinary reads stay on the primary.
    const renamed = await t.request(user, {
      method: 'PATCH',
      url: `/v1/campaigns/${campaignId}`,
      payload: { name: 'Renamed' },
    });
    expect(renamed.statusCode).toBe(200);
    const read = await t.request(user, { method: 'GET', url: `/v1/campaigns/${campaignId}` });
    expect(read.json().name).toBe('Renamed');
    const onReplica = await replicaAdmin.query('SELECT name FROM outreach.campaigns WHERE id = $1', [
      campaignId,
    ]);
    expect(onReplica.rows[0].name).toBe('Replicated');
  });

  it('keeps tenant isolation on the replica: another organisation gets 404', async () => {
    const other = await t.signUp('other@replica.test');
    const { rows } = await replicaAdmin.query('SELECT id FROM outreach.campaigns LIMIT 1');
    const res = await t.request(other, { method: 'GET', url: `/v1/campaigns/${rows[0].id}/stats` });
    expect(res.statusCode).toBe(404);
  });
});
