/**
 * The checks a row must pass before it is matched against the database, run in TypeScript on the
 * normalised row (normalise.ts): spreadsheet formulas, values a field rule refused, lengths, and
 * the keys a row needs. A row fails on every check that is true; each becomes one per-row error.
 */
import type { NormalisedRow } from './normalise.js';
import type { StagedRowError } from './staging.js';

/** PostgreSQL's length()/left() count characters (code points), not UTF-16 units. */
function charLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** The first `count` characters (never half a surrogate pair). */
function leftChars(value: string, count: number): string {
  if (value.length <= count) return value;
  return Array.from(value).slice(0, count).join('');
}

const FORMULA_START = /^[=+@-]/;
const PLAIN_NUMBER = /^[+-]?[0-9][0-9 .,]*$/;

/** A leading = + - @ makes spreadsheets evaluate the cell (CSV injection); plain numbers are fine. */
function looksLikeFormula(value: string | null): value is string {
  return value !== null && FORMULA_START.test(value) && !PLAIN_NUMBER.test(value);
}

const INVALID_PHONE = 'Not a valid phone number (national French or international +…)';

/** Every error of a normalised row, in a stable order (formulas first, then the format checks). */
export function rowErrors({ stored: s, inputs: i }: NormalisedRow): StagedRowError[] {
  const errors: StagedRowError[] = [];
  const fail = (field: string | null, code: string, message: string, raw: string | null) =>
    errors.push({ field, code, message, raw: raw === null ? null : leftChars(raw, 1000) });

  // Text fields as they are stored or given (phones are rewritten to E.164, so they are safe).
  const formulaFields: Array<[string, string | null]> = [
    ['company_name', s.company_name],
    ['company_siren', i.sirenGiven],
    ['company_siret', i.siret],
    ['company_naf', i.nafDigits],
    ['company_website', i.website],
    ['company_domain', i.domain],
    ['company_linkedin', s.company_linkedin],
    ['company_address', s.company_address],
    ['company_postal_code', s.company_postal_code],
    ['company_city', s.company_city],
    ['company_country', i.country],
    ['company_employee_range', s.company_employee_range],
    ['company_industry', s.company_industry],
    ['company_pharow_id', s.company_pharow_id],
    ['first_name', s.first_name],
    ['last_name', s.last_name],
    ['person_linkedin', s.person_linkedin],
    ['person_location', s.person_location],
    ['person_pharow_id', s.person_pharow_id],
    ['email', s.email],
    ['email_status', i.emailStatus],
    ['job_title', s.job_title],
    ['list_name', s.list_name],
  ];
  for (const [field, value] of formulaFields) {
    if (looksLikeFormula(value))
      fail(field, 'formula_injection', 'The value starts like a spreadsheet formula (= + - @)', value);
  }

  if (i.sirenGiven !== null && !i.sirenValid)
    fail('company_siren', 'invalid_siren', 'SIREN must be 9 digits with a valid check digit', i.sirenGiven);
  if (i.siret !== null && !i.siretValid)
    fail('company_siret', 'invalid_siret', 'SIRET must be 14 digits with a valid check digit', i.siret);
  if (i.siret !== null && i.sirenGiven !== null && i.siret.slice(0, 9) !== i.sirenGiven)
    fail('company_siret', 'siret_siren_mismatch', 'The SIRET does not start with the SIREN', i.siret);
  if (i.nafDigits !== null && s.naf_code === null)
    fail('company_naf', 'invalid_naf', 'NAF code must look like 62.01Z', i.nafDigits);
  if (i.website !== null && s.website_url === null)
    fail('company_website', 'invalid_url', 'Not a website address', i.website);
  if (i.domain !== null && i.domainGiven === null)
    fail('company_domain', 'invalid_domain', 'Not a domain name', i.domain);
  if (i.companyLinkedin !== null && s.company_linkedin === null)
    fail('company_linkedin', 'invalid_url', 'Not a URL', i.companyLinkedin);
  if (i.personLinkedin !== null && s.person_linkedin === null)
    fail('person_linkedin', 'invalid_url', 'Not a URL', i.personLinkedin);
  if (i.companyPhone !== null && s.company_phone === null)
    fail('company_phone', 'invalid_phone', INVALID_PHONE, i.companyPhone);
  if (i.personPhone !== null && s.person_phone === null)
    fail('person_phone', 'invalid_phone', INVALID_PHONE, i.personPhone);
  if (i.positionPhone !== null && s.position_phone === null)
    fail('position_phone', 'invalid_phone', INVALID_PHONE, i.positionPhone);
  if (i.country !== null && s.country_code === null)
    fail('company_country', 'invalid_country', 'Country must be an ISO code (FR) or a known name', i.country);
  if (s.email !== null && s.email_domain === null)
    fail('email', 'invalid_email', 'Not an email address', s.email);
  if (s.company_name !== null && s.company_name.length > 500 && charLength(s.company_name) > 500)
    fail(
      'company_name',
      'value_too_long',
      'Company name is longer than 500 characters',
      leftChars(s.company_name, 200),
    );
  for (const [field, value, label] of [
    ['company_pharow_id', s.company_pharow_id, 'Pharow company id'],
    ['person_pharow_id', s.person_pharow_id, 'Pharow person id'],
  ] as const) {
    if (value !== null && value.length > 200 && charLength(value) > 200)
      fail(field, 'value_too_long', `${label} is longer than 200 characters`, leftChars(value, 200));
  }
  const personGiven =
    s.first_name ??
    s.last_name ??
    s.job_title ??
    i.personPhone ??
    s.person_linkedin ??
    i.positionPhone ??
    s.person_pharow_id;
  if (s.email === null && personGiven !== null)
    fail('email', 'missing_email', 'A person needs an email address to be imported', null);
  const noCompanyKey = s.siren === null && s.domain === null && s.company_pharow_id === null;
  if (noCompanyKey && s.email_domain !== null)
    fail(
      'company_siren',
      'missing_company_key',
      'The company needs a SIREN, a website, a domain or a Pharow id (the email is from a free mail provider)',
      null,
    );
  if (noCompanyKey && s.email === null)
    fail(null, 'missing_key', 'The row has no email, SIREN, website, domain or Pharow company id', null);
  return errors;
}
