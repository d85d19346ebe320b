import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OWN } from '../../../lib/role-policy.js';
import { organisationsRepository } from '../../../repositories/organisations/index.js';
import { pathNamesScopedOrganisation } from './path-scope.js';
import { Organisation, OrganisationParams, OrganisationSettings } from './schema.js';

/** /v1/organisations/:organisationId — the organisation's own settings are the owner's. */
const settings: FastifyPluginAsyncTypebox = async (fastify) => {
  const repository = organisationsRepository(fastify.db);
  fastify.addHook('onRequest', pathNamesScopedOrganisation);

  fastify.patch(
    '/:organisationId',
    {
      config: { ...OWN, problems: { 409: ['slug_taken'] } },
      schema: {
        tags: ['identity'],
        summary: "Change the organisation's name or slug",
        params: OrganisationParams,
        body: OrganisationSettings,
        response: { 200: Organisation },
      },
    },
    async (request) =>
      await repository.updateSettings({ name: request.body.name?.trim(), slug: request.body.slug }),
  );
};

export default settings;
