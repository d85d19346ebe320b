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

/** The fields whose stage-table column is named after the stored column (crm.companies'). */
const STAGED_AS = {
  company_siren: 'siren',
  company_siret: 'siret',
  company_naf: 'naf_code',
  company_website: 'website_url',
  company_domain: 'domain',
  company_country: 'country_code',
} as const satisfies Partial<Record<ImportField, string>>;

/** Stage columns made from several fields: the email's domain, and the row's company in the file. */
const DERIVED_COLUMNS = ['email_domain', 'company_key'] as const;

export type StagedColumn =
  | Exclude<ImportField, keyof typeof STAGED_AS>
  | (typeof STAGED_AS)[keyof typeof STAGED_AS]
  | (typeof DERIVED_COLUMNS)[number];

/**
 * The stage table's value columns, in order: what the set-based SQL reads (pipeline-sql.ts) —
 * each field's stored form (normalise.ts), then the derived ones. `company_key` is the row's
 * company in the file: SIREN, else Pharow id, else domain.
 */
export const STAGED_COLUMNS: readonly StagedColumn[] = [
  ...IMPORT_FIELDS.map(
    (field) => (STAGED_AS as Partial<Record<ImportField, StagedColumn>>)[field] ?? (field as StagedColumn),
  ),
  ...DERIVED_COLUMNS,
];

const FIELD_SET: ReadonlySet<string> = new Set(IMPORT_FIELDS);

export function isImportField(value: string): value is ImportField {
  return FIELD_SET.has(value);
}

/** Longest cell accepted (characters); longer cells fail their row with `value_too_long`. */
export const MAX_CELL_LENGTH = 10_000;
