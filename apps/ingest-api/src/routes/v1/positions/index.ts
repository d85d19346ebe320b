import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { Conditions, Resource } from '../../../lib/resource.js';
import { IdParams, Page, PageQuery, TenantHeaders, Uuid } from '../../../lib/schemas.js';
import { FieldErrors, isValidSiren, normaliseEmail, normalisePhone } from '../../../lib/validation.js';
import { Position, PositionCreate, PositionPatch, positionSpec } from './schema.js';

function normalise(input: { email?: string | null; phone?: string | null }): Record<string, unknown> {
  const errors = new FieldErrors();
  const out: Record<string, unknown> = { ...input };
  if (input.email) out.email = normaliseEmail(input.email);
  if (input.phone) out.phone = normalisePhone(input.phone, errors);
  errors.throwIfAny();
  return out;
}

const positions: FastifyPluginAsyncTypebox = async (fastify) => {
  const resource = new Resource<Static<typeof Position>>(positionSpec, fastify.db);

  fastify.post(
    '',
    {
      schema: {
        tags: ['crm'],
        summary:
          'Create a position linking a person to a company (409 with existingId when the email is taken)',
        headers: TenantHeaders,
        body: PositionCreate,
        response: { 201: Position },
      },
    },
    async (request, reply) => {
      const row = await resource.create(normalise(request.body as Static<typeof PositionPatch>));
      reply.code(201).header('location', `/v1/positions/${row.id}`);
      return row;
    },
  );

  fastify.get(
    '',
    {
      schema: {
        tags: ['crm'],
        summary: 'List positions (cursor pagination; filters email, domain, siren, personId, companyId)',
        headers: TenantHeaders,
        querystring: Type.Object({
          ...PageQuery,
          email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
          domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'email domain' })),
          siren: Type.Optional(Type.String({ pattern: '^[0-9]{9}$', description: 'SIREN of the company' })),
          personId: Type.Optional(Uuid),
          companyId: Type.Optional(Uuid),
        }),
        response: { 200: Page(Position) },
      },
    },
    async (request) => {
      const { limit = 50, cursor, email, domain, siren, personId, companyId } = request.query;
      const conditions = new Conditions();
      if (email) conditions.add((p) => `email = ${p}`, normaliseEmail(email));
      if (domain) conditions.add((p) => `split_part(email::text, '@', 2) = lower(${p})`, domain.trim());
      if (siren && isValidSiren(siren)) {
        conditions.add(
          (p) => `company_id IN (SELECT c.id FROM crm.companies AS c WHERE c.siren = ${p})`,
          siren,
        );
      } else if (siren) {
        conditions.where.push('false');
      }
      if (personId) conditions.add((p) => `person_id = ${p}`, personId);
      if (companyId) conditions.add((p) => `company_id = ${p}`, companyId);
      return await resource.list({ limit, cursor, ...conditions });
    },
  );

  fastify.get(
    '/:id',
    {
      schema: {
        tags: ['crm'],
        summary: 'One position',
        headers: TenantHeaders,
        params: IdParams,
        response: { 200: Position },
      },
    },
    async (request) => await resource.get(request.params.id),
  );

  fastify.patch(
    '/:id',
    {
      schema: {
        tags: ['crm'],
        summary: 'Change some fields of a position (null clears an optional field)',
        headers: TenantHeaders,
        params: IdParams,
        body: PositionPatch,
        response: { 200: Position },
      },
    },
    async (request) => await resource.update(request.params.id, normalise(request.body)),
  );

  fastify.delete(
    '/:id',
    {
      schema: {
        tags: ['crm'],
        summary: 'Delete a position',
        headers: TenantHeaders,
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await resource.delete(request.params.id);
      return reply.code(204).send(null);
    },
  );
};

export default positions;
