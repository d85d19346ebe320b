import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { markMailboxVerified } from '../helpers/fixtures.js';

// A manual stop goes through outreach-core's stopEnrollment like a bounce, a reply or an
// unsubscribe: suppressed (manual), enrollment unsubscribed, queued tasks cancelled.
let t: TestApp;
let user: TestUser;
let other: TestUser;
let campaignId: string;
let enrollmentIds: string[];

beforeAll(async () => {
  t = await buildTestApp({ label: 'stop-enrollment' });
  user = await t.signUp('owner@stop.test');
  other = await t.signUp('owner@stop-other.test');
  const mailbox = await t.request(user, {
    method: 'POST',
    url: '/v1/mailboxes',
    payload: { fromName: 'Sales', fromAddress: 'sales@stop.test' },
  });
  await markMailboxVerified(t.admin, mailbox.json().id);
  const campaign = await t.request(user, {
    method: 'POST',
    url: '/v1/campaigns',
    payload: {
      name: 'Stops',
      mailboxId: mailbox.json().id,
      steps: [{ delayDays: 0, subject: 'Hi', body: 'Hello {{person.first_name | "there"}}' }],
    },
  });
  campaignId = campaign.json().id;
  const org = user.organisationId;
  const company = await t.admin.query(
    `INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Acme') RETURNING id`,
    [org],
  );
  const positions: string[] = [];
  for (const email of ['stop-1@p.test', 'stop-2@p.test']) {
    const person = await t.admin.query(
      `INSERT INTO crm.people (organisation_id, first_name) VALUES ($1, 'P') RETURNING id`,
      [org],
    );
    const position = await t.admin.query(
      `INSERT INTO crm.positions (organisation_id, person_id, company_id, email) VALUES ($1, $2, $3, $4) RETURNING id`,
      [org, person.rows[0].id, company.rows[0].id, email],
    );
    positions.push(position.rows[0].id);
  }
  const enrolled = await t.request(user, {
    method: 'POST',
    url: `/v1/campaigns/${campaignId}/enrollments`,
    payload: { positionIds: positions },
  });
  enrollmentIds = enrolled.json().enrolled.map((e: { enrollmentId: string }) => e.enrollmentId);
  expect(
    (await t.request(user, { method: 'POST', url: `/v1/campaigns/${campaignId}/activate` })).statusCode,
  ).toBe(200);
});
afterAll(async () => {
  await t?.close();
});

const stop = (enrollmentId: string, as = user, campaign = campaignId) =>
  t.request(as, { method: 'POST', url: `/v1/campaigns/${campaign}/enrollments/${enrollmentId}/stop` });

describe('POST /v1/campaigns/{id}/enrollments/{enrollmentId}/stop', () => {
  it('suppresses the address (manual), unsubscribes the enrollment and cancels its queued task; idempotent', async () => {
    const res = await stop(enrollmentIds[0]!);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      enrollmentId: enrollmentIds[0],
      status: 'unsubscribed',
      stopped: true,
      suppressed: true,
    });
    const tasks = await t.admin.query(
      'SELECT status FROM outreach.tasks WHERE enrollment_id = $1 ORDER BY created_at',
      [enrollmentIds[0]],
    );
    expect(tasks.rows).toEqual([{ status: 'cancelled' }]);
    const sup = await t.admin.query(
      `SELECT s.reason FROM outreach.suppressions s
       JOIN crm.positions p ON p.organisation_id = s.organisation_id AND p.email = s.email
       JOIN outreach.campaign_enrollments e ON e.position_id = p.id
       WHERE s.organisation_id = $1 AND e.id = $2`,
      [user.organisationId, enrollmentIds[0]],
    );
    expect(sup.rows).toEqual([{ reason: 'manual' }]);
    // The other enrollment is untouched.
    const kept = await t.admin.query('SELECT status FROM outreach.tasks WHERE enrollment_id = $1', [
      enrollmentIds[1],
    ]);
    expect(kept.rows).toEqual([{ status: 'pending' }]);
    expect((await stop(enrollmentIds[0]!)).json()).toMatchObject({ stopped: false, suppressed: false });
  });

  it('404 for an enrollment of another campaign or organisation; 400 for a malformed id', async () => {
    expect((await stop('00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    expect((await stop(enrollmentIds[1]!, other)).statusCode).toBe(404);
    expect((await stop('not-a-uuid')).statusCode).toBe(400);
    const still = await t.admin.query('SELECT status FROM outreach.campaign_enrollments WHERE id = $1', [
      enrollmentIds[1],
    ]);
    expect(still.rows[0].status).toBe('active');
  });
});
