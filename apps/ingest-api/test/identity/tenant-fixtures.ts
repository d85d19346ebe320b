import type { TenantFixture } from '../helpers/tenant-fixtures.js';

/** Organisation A's pending invitation, for the invitation routes of the cross-tenant and role matrices. */
const identityFixtures: TenantFixture = async ({ t, owner }) => {
  const res = await t.request(owner, {
    method: 'POST',
    url: `/v1/organisations/${owner.organisationId}/invitations`,
    payload: { email: `matrix-invitee-${owner.userId.slice(0, 8)}@a.test`, role: 'member' },
  });
  if (res.statusCode !== 201) throw new Error(`fixture invitation: ${res.statusCode} ${res.body}`);
  return { params: { '/v1/organisations/:organisationId': { invitationId: res.json().id as string } } };
};

export default identityFixtures;
