import { isValidSiren, storedEmail } from '../lib/validation.js';
import type { Database } from '../plugins/app/db.js';
import { CrudRepository, type CrudSpec, type Row } from './crud.js';

/** The list filters of GET /v1/positions. */
export interface PositionFilters {
  email?: string;
  /** Email domain. */
  domain?: string;
  /** SIREN of the company. */
  siren?: string;
  personId?: string;
  companyId?: string;
}

export const positionSpec: CrudSpec<PositionFilters> = {
  table: 'crm.positions',
  provenance: true,
  label: 'Position',
  notFoundCode: 'position_not_found',
  fields: {
    personId: { column: 'person_id' },
    companyId: { column: 'company_id' },
    title: { column: 'title' },
    email: { column: 'email', select: 'email::text' },
    emailStatus: { column: 'email_status' },
    emailReliability: { column: 'email_reliability' },
    phone: { column: 'phone' },
    listName: { column: 'list_name' },
    status: { column: 'status' },
    custom: { column: 'custom' },
  },
  uniques: {
    positions_organisation_id_email_key: { field: 'email', code: 'position_email_taken' },
  },
  references: {
    positions_organisation_id_person_id_fkey: { field: 'personId', code: 'unknown_person' },
    positions_organisation_id_company_id_fkey: { field: 'companyId', code: 'unknown_company' },
  },
  filters: {
    email: (email, where) => {
      const stored = storedEmail(email);
      return stored === undefined
        ? where.none()
        : where.add((p) => `id = (SELECT app.position_id_for_email(${p}))`, stored);
    },
    domain: (domain, where) =>
      where.add((p) => `split_part(email::text, '@', 2) = lower(${p})`, domain.trim()),
    siren: (siren, where) =>
      isValidSiren(siren)
        ? where.add((p) => `company_id IN (SELECT c.id FROM crm.companies AS c WHERE c.siren = ${p})`, siren)
        : where.none(),
    personId: (personId, where) => where.add((p) => `person_id = ${p}`, personId),
    companyId: (companyId, where) => where.add((p) => `company_id = ${p}`, companyId),
  },
};

export function positionsRepository<T extends Row>(db: Database) {
  return new CrudRepository<T, PositionFilters>(positionSpec, db);
}
