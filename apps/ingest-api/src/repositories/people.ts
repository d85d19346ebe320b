import { likeContains } from '../lib/pagination.js';
import { storedEmail } from '../lib/validation.js';
import type { Database } from '../plugins/app/db.js';
import { CrudRepository, type CrudSpec, type Row } from './crud.js';

/** The list filters of GET /v1/people. */
export interface PersonFilters {
  name?: string;
  /** Email of one of their positions. */
  email?: string;
  companyId?: string;
}

/** The rule of people_check (a first or a last name), as POST and PATCH answer it. */
export const NAME_REQUIRED = 'A person needs a first name or a last name.';

export const personSpec: CrudSpec<PersonFilters> = {
  table: 'crm.people',
  provenance: true,
  label: 'Person',
  notFoundCode: 'person_not_found',
  fields: {
    firstName: { column: 'first_name' },
    lastName: { column: 'last_name' },
    linkedinUrl: { column: 'linkedin_url' },
    phone: { column: 'phone' },
    location: { column: 'location' },
    pharowPersonId: { column: 'pharow_person_id' },
    custom: { column: 'custom' },
  },
  uniques: {
    people_organisation_id_pharow_person_id_key: { field: 'pharowPersonId', code: 'person_pharow_id_taken' },
  },
  checks: {
    people_check: { field: 'lastName', code: 'name_required', message: NAME_REQUIRED },
  },
  filters: {
    name: (name, where) =>
      where.add(
        (p) => `lower(concat_ws(' ', first_name, last_name, first_name)) LIKE lower(${p})`,
        likeContains(name.trim()),
      ),
    email: (email, where) => {
      const stored = storedEmail(email);
      return stored === undefined
        ? where.none()
        : where.add(
            (p) =>
              `id IN (SELECT pos.person_id FROM crm.positions AS pos WHERE pos.id = (SELECT app.position_id_for_email(${p})))`,
            stored,
          );
    },
    companyId: (companyId, where) =>
      where.add(
        (p) =>
          `EXISTS (SELECT 1 FROM crm.positions AS pos WHERE pos.person_id = people.id AND pos.company_id = ${p})`,
        companyId,
      ),
  },
};

export function peopleRepository<T extends Row>(db: Database) {
  return new CrudRepository<T, PersonFilters>(personSpec, db);
}
