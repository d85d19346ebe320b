import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { likeContains } from '../../../lib/pagination.js';
import { Conditions, Resource } from '../../../lib/resource.js';
import { IdParams, Page, PageQuery, TenantHeaders, Uuid } from '../../../lib/schemas.js';
import { FieldErrors, normaliseEmail, normalisePhone, normaliseUrl } from '../../../lib/validation.js';
import { Person, PersonCreate, PersonPatch, personSpec } from './schema.js';

type PersonInput = Static<typeof PersonCreate>;

function normalise(input: PersonInput, creating: boolean): Record<string, unknown> {
  const errors = new FieldErrors();
  const out: Record<string, unknown> = { ...input };
  for (const field of ['firstName', 'lastName'] as const) {
    const value = input[field];
    if (typeof value === 'string') out[field] = value.trim() === '' ? null : value.trim();
  }
  if (creating && !out.firstName && !out.lastName) {
    errors.add('lastName', 'name_required', 'A person needs a first name or a last name.');
  }
  if (input.phone) out.phone = normalisePhone(input.phone, errors);
  if (input.linkedinUrl) out.linkedinUrl = normaliseUrl(input.linkedinUrl, errors, 'linkedinUrl');
  errors.throwIfAny();
  return out;
}

const people: FastifyPluginAsyncTypebox = async (fastify) => {
  const resource = new Resource<Static<typeof Person>>(personSpec, fastify.db);

  fastify.post(
    '',
    {
      schema: {
        tags: ['crm'],
        summary: 'Create a person (409 with existingId when the Pharow id is taken)',
        headers: TenantHeaders,
        body: PersonCreate,
        response: { 201: Person },
      },
    },
    async (request, reply) => {
      const row = await resource.create(normalise(request.body, true));
      reply.code(201).header('location', `/v1/people/${row.id}`);
      return row;
    },
  );

  fastify.get(
    '',
    {
      schema: {
        tags: ['crm'],
        summary: 'List people (cursor pagination; filters name, email, companyId)',
        headers: TenantHeaders,
        querystring: Type.Object({
          ...PageQuery,
          name: Type.Optional(
            Type.String({ minLength: 1, maxLength: 200, description: 'first, last or full name contains' }),
          ),
          email: Type.Optional(
            Type.String({ format: 'email', maxLength: 320, description: 'email of one of their positions' }),
          ),
          companyId: Type.Optional(Uuid),
        }),
        response: { 200: Page(Person) },
      },
    },
    async (request) => {
      const { limit = 50, cursor, name, email, companyId } = request.query;
      const conditions = new Conditions();
      if (name) {
        conditions.add(
          (p) => `lower(concat_ws(' ', first_name, last_name, first_name)) LIKE lower(${p})`,
          likeContains(name.trim()),
        );
      }
      if (email) {
        conditions.add(
          (p) =>
            `EXISTS (SELECT 1 FROM crm.positions AS pos WHERE pos.person_id = people.id AND pos.email = ${p})`,
          normaliseEmail(email),
        );
      }
      if (companyId) {
        conditions.add(
          (p) =>
            `EXISTS (SELECT 1 FROM crm.positions AS pos WHERE pos.person_id = people.id AND pos.company_id = ${p})`,
          companyId,
        );
      }
      return await resource.list({ limit, cursor, ...conditions });
    },
  );

  fastify.get(
    '/:id',
    {
      schema: {
        tags: ['crm'],
        summary: 'One person',
        headers: TenantHeaders,
        params: IdParams,
        response: { 200: Person },
      },
    },
    async (request) => await resource.get(request.params.id),
  );

  fastify.patch(
    '/:id',
    {
      schema: {
        tags: ['crm'],
        summary: 'Change some fields of a person (null clears an optional field)',
        headers: TenantHeaders,
        params: IdParams,
        body: PersonPatch,
        response: { 200: Person },
      },
    },
    async (request) => await resource.update(request.params.id, normalise(request.body, false)),
  );

  fastify.delete(
    '/:id',
    {
      schema: {
        tags: ['crm'],
        summary: 'Delete a person and their positions',
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

export default people;
