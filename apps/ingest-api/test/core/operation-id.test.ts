import { describe, expect, it } from 'vitest';
import { operationIdFor } from '../../src/lib/openapi/operation-id.js';

describe('operationIdFor', () => {
  it.each([
    ['GET', '/v1/companies', 'listCompanies'],
    ['POST', '/v1/companies', 'createCompany'],
    ['GET', '/v1/companies/:id', 'getCompany'],
    ['PATCH', '/v1/companies/:id', 'updateCompany'],
    ['DELETE', '/v1/companies/:id', 'deleteCompany'],
    ['GET', '/v1/people', 'listPeople'],
    ['POST', '/v1/people', 'createPerson'],
    ['GET', '/v1/mailboxes/:id', 'getMailbox'],
    ['POST', '/v1/mailboxes/:id/verify', 'verifyMailbox'],
    ['POST', '/v1/campaigns/:id/activate', 'activateCampaign'],
    ['GET', '/v1/campaigns/:id/stats', 'getCampaignStats'],
    ['POST', '/v1/campaigns/:id/enrollments', 'createCampaignEnrollment'],
    ['GET', '/v1/sending-domains', 'listSendingDomains'],
    ['GET', '/v1/organisations/:organisationId/members', 'listOrganisationMembers'],
    ['PATCH', '/v1/organisations/:organisationId/members/:userId', 'updateOrganisationMember'],
    ['GET', '/v1/privacy/settings', 'getPrivacySettings'],
    ['GET', '/v1/privacy/erasure-requests', 'listPrivacyErasureRequests'],
    ['GET', '/v1/me', 'getMe'],
    ['GET', '/openapi.json', 'getOpenApiDocument'],
  ])('%s %s → %s', (method, url, id) => {
    expect(operationIdFor(method, url)).toBe(id);
  });
});
