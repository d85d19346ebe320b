import { hostOf } from '@prospectflow/field-rules';
import { likeContains } from '../lib/pagination.js';
import { checkSiretOfSiren, FieldErrors } from '../lib/validation.js';
import type { Database } from '../plugins/app/db.js';
import { CrudRepository, type CrudSpec, type Row } from './crud.js';

/** The list filters of GET /v1/companies. */
export interface CompanyFilters {
  name?: string;
  domain?: string;
  siren?: string;
}

export const companySpec: CrudSpec<CompanyFilters> = {
  table: 'crm.companies',
  provenance: true,
  label: 'Company',
  notFoundCode: 'company_not_found',
  fields: {
    name: { column: 'name' },
    websiteUrl: { column: 'website_url' },
    domain: { column: 'domain', select: 'domain::text' },
    siren: { column: 'siren' },
    siret: { column: 'siret' },
    nafCode: { column: 'naf_code' },
    linkedinUrl: { column: 'linkedin_url' },
    pharowCompanyId: { column: 'pharow_company_id' },
    phone: { column: 'phone' },
    addressLine1: { column: 'address_line1' },
    addressLine2: { column: 'address_line2' },
    postalCode: { column: 'postal_code' },
    city: { column: 'city' },
    countryCode: { column: 'country_code' },
    employeeRange: { column: 'employee_range' },
    employeeCount: { column: 'employee_count' },
    industry: { column: 'industry' },
    description: { column: 'description' },
    custom: { column: 'custom' },
  },
  // A PATCH of the SIRET alone (or the SIREN alone) must not pair it with another company's; a
  // PATCH of neither does not answer for a pair stored before the rule.
  check: (row, written) => {
    if (!written.has('siren') && !written.has('siret')) return;
    const errors = new FieldErrors();
    checkSiretOfSiren(row, errors);
    errors.throwIfAny();
  },
  uniques: {
    companies_organisation_id_siren_key: { field: 'siren', code: 'company_siren_taken' },
    companies_organisation_id_pharow_company_id_key: {
      field: 'pharowCompanyId',
      code: 'company_pharow_id_taken',
    },
  },
  filters: {
    name: (name, where) => where.add((p) => `lower(name) LIKE lower(${p})`, likeContains(name)),
    // The domain as the field rule stores it (`https://www.Acme.fr/x` → `acme.fr`).
    domain: (domain, where) => {
      const host = hostOf(domain);
      return host === undefined ? where.none() : where.add((p) => `domain = ${p}`, host);
    },
    siren: (siren, where) => where.add((p) => `siren = ${p}`, siren),
  },
};

export function companiesRepository<T extends Row>(db: Database) {
  return new CrudRepository<T, CompanyFilters>(companySpec, db);
}
