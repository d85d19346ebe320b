/**
 * The canonical import fields: every source column (CSV header, JSON key) maps to one of these.
 * They are the staging table's columns, in this order.
 */
export const IMPORT_FIELDS = [
  'company_name',
  'company_siren',
  'company_siret',
  'company_naf',
  'company_website',
  'company_domain',
  'company_linkedin',
  'company_phone',
  'company_address',
  'company_postal_code',
  'company_city',
  'company_country',
  'company_employee_range',
  'company_industry',
  'company_pharow_id',
  'first_name',
  'last_name',
  'person_linkedin',
  'person_phone',
  'person_location',
  'person_pharow_id',
  'email',
  'email_status',
  'job_title',
  'position_phone',
  'list_name',
] as const;

export type ImportField = (typeof IMPORT_FIELDS)[number];

const FIELD_SET: ReadonlySet<string> = new Set(IMPORT_FIELDS);

export function isImportField(value: string): value is ImportField {
  return FIELD_SET.has(value);
}

/** Longest cell accepted (characters); longer cells fail their row with `value_too_long`. */
export const MAX_CELL_LENGTH = 10_000;
