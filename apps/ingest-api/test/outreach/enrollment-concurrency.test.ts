import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

// "Enrolled elsewhere" holds when the requests come at once: a position asked into several
// campaigns by simultaneous requests ends in one of them, the others say enrolled_elsewhere.
let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'enrollment-concurrency' });
  user = await t.signUp('owner@enrollment-concurrency.test');
});
afterAll(async () => {
  await t?.close();
});

describe('POST /v1/campaigns/{id}/enrollments at the same time', () => {
  it('enrolls a position in one campaign only unless allowEnrolledElsewhere', async () => {
    const org = user.organisationId;
    const campaigns: string[] = [];
    for (const name of ['A', 'B', 'C', 'D']) {
      const res = await t.request(user, {
        method: 'POST',
        url: '/v1/campaigns',
        payload: { name, steps: [{ delayDays: 0, subject: 'Hi', body: 'x' }] },
      });
      campaigns.push(res.json().id);
    }
    const company = await t.admin.query(
      `INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Acme') RETURNING id`,
      [org],
    );
    for (let i = 0; i < 5; i++) {
      const person = await t.admin.query(
        `INSERT INTO crm.people (organisation_id, first_name) VALUES ($1, 'P') RETURNING id`,
        [org],
      );
      const position: string = (
        await t.admin.query(
          `INSERT INTO crm.positions (organisation_id, person_id, company_id, email) VALUES ($1, $2, $3, $4) RETURNING id`,
          [org, person.rows[0].id, company.rows[0].id, `race-${i}@p.test`],
        )
      ).rows[0].id;
      const results = await Promise.all(
        campaigns.map((id) =>
          t.request(user, {
            method: 'POST',
            url: `/v1/campaigns/${id}/enrollments`,
            payload: { positionIds: [position] },
          }),
        ),
      );
      expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
      expect(results.filter((r) => r.json().enrolled.length === 1)).toHaveLength(1);
      expect(results.flatMap((r) => r.json().skipped.map((s: { reason: string }) => s.reason))).toEqual([
        'enrolled_elsewhere',
        'enrolled_elsewhere',
        'enrolled_elsewhere',
      ]);
      const rows = await t.admin.query(
        'SELECT count(*)::int AS n FROM outreach.campaign_enrollments WHERE position_id = $1',
        [position],
      );
      expect(rows.rows[0].n).toBe(1);
    }
  });
});
