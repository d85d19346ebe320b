import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { likeContains } from '../../../lib/pagination.js';
import { Conditions, Resource } from '../../../lib/resource.js';
import { IdParams, Page, PageQuery, TenantHeaders } from '../../../lib/schemas.js';
import {
  domainOfUrl,
  FieldErrors,
  normaliseDomain,
  normaliseNaf,
  normalisePhone,
  normaliseSiren,
  normaliseSiret,
  normaliseUrl,
} from '../../../lib/validation.js';
import { Company, CompanyCreate, CompanyPatch, companySpec } from './schema.js';

type CompanyInput = Partial<Record<keyof typeof CompanyCreate.properties, unknown>>;

/** Check digits and normal forms the schema cannot express; 422 listing every problem. */
function normalise(input: CompanyInput): Record<string, unknown> {
  const errors = new FieldErrors();
  const out: Record<string, unknown> = { ...input };
  const text = (name: keyof CompanyInput) =>
    typeof input[name] === 'string' ? (input[name] as string) : undefined;
  if (typeof input.name === 'string') out.name = input.name.trim();
  if (text('siren')) out.siren = normaliseSiren(text('siren')!, errors);
  if (text('siret')) out.siret = normaliseSiret(text('siret')!, errors);
  if (out.siren && out.siret && !(out.siret as string).startsWith(out.siren as string)) {
    errors.add('siret', 'siret_siren_mismatch', 'A SIRET starts with its company SIREN.');
  }
  if (text('nafCode')) out.nafCode = normaliseNaf(text('nafCode')!, errors);
  if (text('phone')) out.phone = normalisePhone(text('phone')!, errors);
  if (text('websiteUrl')) out.websiteUrl = normaliseUrl(text('websiteUrl')!, errors, 'websiteUrl');
  if (text('linkedinUrl')) out.linkedinUrl = normaliseUrl(text('linkedinUrl')!, errors, 'linkedinUrl');
  if (text('domain')) out.domain = normaliseDomain(text('domain')!, errors);
  else if (input.domain === undefined && typeof out.websiteUrl === 'string')
    out.domain = domainOfUrl(out.websiteUrl);
  if (text('countryCode')) out.countryCode = text('countryCode')!.toUpperCase();
  errors.throwIfAny();
  return out;
}

const companies: FastifyPluginAsyncTypebox = async (fastify) => {
  const resource = new Resource<Static<typeof Company>>(companySpec, fastify.db);

  fastify.post(
    '',
    {
      schema: {
        tags: ['crm'],
        summary: 'Create a company (409 with existingId when the SIREN or Pharow id is taken)',
        headers: TenantHeaders,
        body: CompanyCreate,
        response: { 201: Company },
      },
    },
    async (request, reply) => {
      const row = await resource.create(normalise(request.body));
      reply.code(201).header('location', `/v1/companies/${row.id}`);
      return row;
    },
  );

  fastify.get(
    '',
    {
      schema: {
        tags: ['crm'],
        summary: 'List companies (cursor pagination; filters name, domain, siren)',
        headers: TenantHeaders,
        querystring: Type.Object({
          ...PageQuery,
          name: Type.Optional(
            Type.String({ minLength: 1, maxLength: 200, description: 'contains, any case' }),
          ),
          domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
          siren: Type.Optional(Type.String({ pattern: '^[0-9]{9}$' })),
        }),
        response: { 200: Page(Company) },
      },
    },
    async (request) => {
      const { limit = 50, cursor, name, domain, siren } = request.query;
      const conditions = new Conditions();
      if (name) conditions.add((p) => `lower(name) LIKE lower(${p})`, likeContains(name));
      if (domain)
        conditions.add(
          (p) => `domain = ${p}`,
          domain
            .trim()
            .toLowerCase()
            .replace(/^www\./, ''),
        );
      if (siren) conditions.add((p) => `siren = ${p}`, siren);
      return await resource.list({ limit, cursor, ...conditions });
    },
  );

  fastify.get(
    '/:id',
    {
      schema: {
        tags: ['crm'],
        summary: 'One company',
        headers: TenantHeaders,
        params: IdParams,
        response: { 200: Company },
      },
    },
    async (request) => await resource.get(request.params.id),
  );

  fastify.patch(
    '/:id',
    {
      schema: {
        tags: ['crm'],
        summary: 'Change some fields of a company (null clears an optional field)',
        headers: TenantHeaders,
        params: IdParams,
        body: CompanyPatch,
        response: { 200: Company },
      },
    },
    async (request) => await resource.update(request.params.id, normalise(request.body)),
  );

  fastify.delete(
    '/:id',
    {
      schema: {
        tags: ['crm'],
        summary: 'Delete a company and its positions',
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

export default companies;
