import { sirenOfSiret } from '@prospectflow/field-rules';
import { Type } from 'typebox';
import { crudRoutes } from '../../../lib/crud-routes.js';
import {
  checkSiretOfSiren,
  domainOfUrl,
  FieldErrors,
  normaliseCountry,
  normaliseDomain,
  normaliseNaf,
  normalisePhone,
  normaliseSiren,
  normaliseSiret,
  normaliseUrl,
  presentFields,
} from '../../../lib/validation.js';
import { companiesRepository } from '../../../repositories/companies.js';
import { Company, CompanyCreate, CompanyPatch } from './schema.js';

/** Fields read as an import reads a cell (trimmed, blank → null): the ruled ones, then plain text. */
const TEXT = [
  'siren',
  'siret',
  'nafCode',
  'phone',
  'websiteUrl',
  'linkedinUrl',
  'domain',
  'countryCode',
  'pharowCompanyId',
  'addressLine1',
  'addressLine2',
  'postalCode',
  'city',
  'employeeRange',
  'industry',
];

/** Check digits and normal forms the schema cannot express; 422 listing every problem. */
function normalise(input: Record<string, unknown>, mode: 'create' | 'patch'): Record<string, unknown> {
  const errors = new FieldErrors();
  const out: Record<string, unknown> = { ...input };
  presentFields(input, out, TEXT);
  const text = (name: string) => (typeof out[name] === 'string' ? (out[name] as string) : undefined);
  if (typeof input.name === 'string') out.name = input.name.trim();
  if (text('siren')) out.siren = normaliseSiren(text('siren')!, errors);
  if (text('siret')) out.siret = normaliseSiret(text('siret')!, errors);
  checkSiretOfSiren(out, errors);
  // A new company given only its SIRET gets the SIREN it names, as an import stores it.
  if (mode === 'create' && !out.siren && typeof out.siret === 'string') out.siren = sirenOfSiret(out.siret);
  if (text('nafCode')) out.nafCode = normaliseNaf(text('nafCode')!, errors);
  if (text('phone')) out.phone = normalisePhone(text('phone')!, errors);
  if (text('websiteUrl')) out.websiteUrl = normaliseUrl(text('websiteUrl')!, errors, 'websiteUrl');
  if (text('linkedinUrl')) out.linkedinUrl = normaliseUrl(text('linkedinUrl')!, errors, 'linkedinUrl');
  if (text('domain')) out.domain = normaliseDomain(text('domain')!, errors);
  // Not given, or given blank (as an import reads an empty cell): the website's host.
  else if (
    (input.domain === undefined || typeof input.domain === 'string') &&
    typeof out.websiteUrl === 'string'
  )
    out.domain = domainOfUrl(out.websiteUrl);
  if (text('countryCode')) out.countryCode = normaliseCountry(text('countryCode')!, errors);
  errors.throwIfAny();
  return out;
}

export default crudRoutes({
  path: '/v1/companies',
  tags: ['crm'],
  repository: companiesRepository,
  schemas: {
    item: Company,
    create: CompanyCreate,
    patch: CompanyPatch,
    filters: {
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'contains, any case' })),
      domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
      siren: Type.Optional(Type.String({ pattern: '^[0-9]{9}$' })),
    },
  },
  summaries: {
    create: 'Create a company (409 with existingId when the SIREN or Pharow id is taken)',
    list: 'List companies (cursor pagination; filters name, domain, siren)',
    get: 'One company',
    patch: 'Change some fields of a company (null clears an optional field)',
    delete: 'Delete a company and its positions',
  },
  normalise,
});
