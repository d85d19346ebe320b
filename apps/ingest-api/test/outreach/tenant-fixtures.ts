import { markMailboxVerified } from '../helpers/fixtures.js';
import type { TenantFixture } from '../helpers/tenant-fixtures.js';

/**
 * Organisation A's outreach objects for the cross-tenant matrix: a mailbox, and an active campaign
 * that uses it, with an A/B experiment on its first step, a plain follow-up step and one enrolled
 * position (so enrollments, step experiments and scheduled tasks exist for B to try to touch).
 */
const outreachFixtures: TenantFixture = async ({ t, owner }) => {
  const create = async (url: string, payload: object, status = 201) => {
    const res = await t.request(owner, { method: 'POST', url, payload });
    if (res.statusCode !== status) throw new Error(`fixture ${url}: ${res.statusCode} ${res.body}`);
    return res.json() as { id: string };
  };
  const mailbox = await create('/v1/mailboxes', { fromName: 'A Sales', fromAddress: 'sales@a.test' });
  await markMailboxVerified(t.admin, mailbox.id);
  const company = await create('/v1/companies', { name: 'A Outreach Target' });
  const person = await create('/v1/people', { firstName: 'Olga', lastName: 'Target' });
  const position = await create('/v1/positions', {
    personId: person.id,
    companyId: company.id,
    email: 'olga@target.test',
  });
  const campaign = await create('/v1/campaigns', {
    name: 'A campaign',
    mailboxId: mailbox.id,
    steps: [
      {
        delayDays: 0,
        variants: [
          { label: 'A', weight: 1, subject: 'Hi', body: 'Variant A' },
          { label: 'B', weight: 1, subject: 'Hello', body: 'Variant B' },
        ],
      },
      { delayDays: 2, subject: null, body: 'Following up' },
    ],
  });
  const enrollment = await t.request(owner, {
    method: 'POST',
    url: `/v1/campaigns/${campaign.id}/enrollments`,
    payload: { positionIds: [position.id] },
  });
  if (enrollment.json().enrolled?.length !== 1)
    throw new Error(`fixture enrollment: ${enrollment.statusCode} ${enrollment.body}`);
  await create(`/v1/campaigns/${campaign.id}/activate`, {}, 200);
  const domain = await create('/v1/sending-domains', { domain: 'mail-a.test' });

  return {
    params: {
      '/v1/mailboxes/:id': { id: mailbox.id },
      '/v1/campaigns/:id': { id: campaign.id, enrollmentId: enrollment.json().enrolled[0].enrollmentId },
      '/v1/sending-domains/:id': { id: domain.id },
      // Ids that request bodies reference by property name.
      '/': { mailboxId: mailbox.id, positionId: position.id },
    },
    bodies: {
      'PATCH /v1/mailboxes/:id': { fromName: 'Renamed by B', status: 'paused' },
      'PATCH /v1/campaigns/:id': { name: 'Renamed by B', steps: [{ delayDays: 0, subject: 'B', body: 'B' }] },
      'POST /v1/campaigns/:id/enrollments': { positionIds: [position.id] },
    },
  };
};

export default outreachFixtures;
