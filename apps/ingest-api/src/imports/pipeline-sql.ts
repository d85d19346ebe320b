/**
 * The set-based part of an import, run inside the import's transaction after COPY has filled the
 * stage table: normalise → validate → match companies → skip suppressed/duplicate rows → upsert →
 * record per-row errors and counts. Each statement handles every row at once.
 */
import { STAGE_TABLE } from './staging.js';

/** Codes that mean "skipped on purpose" rather than "failed". */
export const SKIP_CODES = ['suppressed', 'duplicate_in_file'] as const;

const WS = `' ' || chr(9) || chr(10) || chr(13) || chr(160)`;
/** Trimmed (incl. non-breaking spaces), '' → NULL. */
const t = (column: string) => `nullif(btrim(${column}, ${WS}), '')`;
/** Separators people put in phone numbers and identifiers. */
const squash = (column: string) => `nullif(regexp_replace(${column}, '[\\s.()/-]', '', 'g'), '')`;

/**
 * Luhn check of a fixed-length digit string, inlined: app.is_valid_siren is correct but is a
 * non-inlinable SQL function (SET search_path) that costs ~0.3 ms a call, too slow per row.
 */
const luhn = (column: string, length: number) => {
  const terms: string[] = [];
  for (let i = 1; i <= length; i++) {
    const digit = `substr(${column}, ${i}, 1)::int`;
    terms.push((length - i) % 2 === 1 ? `(ARRAY[0,2,4,6,8,1,3,5,7,9])[${digit} + 1]` : digit);
  }
  return `(${column} ~ '^[0-9]{${length}}$' AND (${terms.join(' + ')}) % 10 = 0)`;
};

/** French numbers → E.164; numbers already in international form are kept. */
const phone = (d: string) => `CASE
    WHEN ${d} IS NULL THEN NULL
    WHEN ${d} ~ '^0[1-9][0-9]{8}$' THEN '+33' || substr(${d}, 2)
    WHEN ${d} ~ '^(\\+|00)?330?[1-9][0-9]{8}$' THEN '+33' || right(${d}, 9)
    WHEN ${d} ~ '^\\+[1-9][0-9]{6,14}$' THEN ${d}
    WHEN ${d} ~ '^00[1-9][0-9]{6,14}$' THEN '+' || substr(${d}, 3)
  END`;

/** Host of a URL or bare domain, without www.; NULL when it is not a plausible domain. */
const host = (value: string) =>
  `nullif(lower(substring(${value} from '^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:[^@/?#]*@)?(?:www\\.)?([^/:?#\\s]+)')), '')`;
const DOMAIN_RE = `'^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$'`;
const EMAIL_RE = `'^[a-z0-9.!#$%&''*+/=?^_\`{|}~-]+@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$'`;
const withScheme = (value: string) =>
  `CASE WHEN ${value} IS NULL THEN NULL WHEN ${value} ~* '^https?://' THEN ${value} ELSE 'https://' || ${value} END`;
/** A leading = + - @ makes spreadsheets evaluate the cell (CSV injection); plain numbers are fine. */
const formula = (value: string) => `(${value} ~ '^[=+@-]' AND ${value} !~ '^[+-]?[0-9][0-9 .,]*$')`;

/** Mail providers whose domain says nothing about the employer (no company from the email). */
const FREE_MAIL = [
  'gmail.com',
  'googlemail.com',
  'yahoo.com',
  'yahoo.fr',
  'hotmail.com',
  'hotmail.fr',
  'outlook.com',
  'outlook.fr',
  'live.com',
  'live.fr',
  'msn.com',
  'icloud.com',
  'me.com',
  'aol.com',
  'orange.fr',
  'wanadoo.fr',
  'free.fr',
  'sfr.fr',
  'laposte.net',
  'neuf.fr',
  'bbox.fr',
  'gmx.com',
  'gmx.fr',
  'protonmail.com',
  'proton.me',
  'yandex.com',
  'mail.com',
];

const COUNTRIES: Record<string, string> = {
  france: 'FR',
  belgique: 'BE',
  belgium: 'BE',
  suisse: 'CH',
  switzerland: 'CH',
  luxembourg: 'LU',
  allemagne: 'DE',
  germany: 'DE',
  espagne: 'ES',
  spain: 'ES',
  italie: 'IT',
  italy: 'IT',
  'royaume-uni': 'GB',
  'united kingdom': 'GB',
  'etats-unis': 'US',
  'états-unis': 'US',
  'united states': 'US',
  canada: 'CA',
  'pays-bas': 'NL',
  netherlands: 'NL',
  portugal: 'PT',
  monaco: 'MC',
};
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
const countryCase = (value: string) =>
  `CASE WHEN ${value} IS NULL THEN NULL WHEN upper(${value}) ~ '^[A-Z]{2}$' THEN upper(${value}) ELSE CASE lower(${value}) ${Object.entries(
    COUNTRIES,
  )
    .map(([name, code]) => `WHEN ${literal(name)} THEN '${code}'`)
    .join(' ')} END END`;

const EMAIL_STATUS = `CASE
    WHEN email_status_raw IS NULL THEN 'unknown'
    WHEN lower(email_status_raw) IN ('valid', 'valide', 'verified', 'vérifié', 'verifie', 'deliverable', 'ok', 'sûr', 'sur') THEN 'valid'
    WHEN lower(email_status_raw) IN ('risky', 'risqué', 'risque', 'probable', 'incertain') THEN 'risky'
    WHEN lower(email_status_raw) IN ('catch-all', 'catch_all', 'catchall', 'accept all', 'accept-all', 'accept_all') THEN 'catch_all'
    WHEN lower(email_status_raw) IN ('invalid', 'invalide', 'undeliverable', 'bounce') THEN 'invalid'
    ELSE 'unknown' END`;

/** 1. Normalised rows. */
const ROWS = `
CREATE TEMP TABLE pf_import_rows ON COMMIT DROP AS
SELECT r.*,
  ${phone('company_phone_d')} AS company_phone,
  ${phone('person_phone_d')} AS person_phone,
  ${phone('position_phone_d')} AS position_phone,
  ${withScheme('website_raw')} AS website_url,
  coalesce(domain_given, website_domain,
    CASE WHEN email_domain <> ALL (ARRAY[${FREE_MAIL.map(literal).join(', ')}]) THEN email_domain END) AS domain,
  ${countryCase('country_raw')} AS country_code,
  ${EMAIL_STATUS} AS email_status
FROM (
  SELECT s.*,
    ${squash('s.company_phone_t')} AS company_phone_d,
    ${squash('s.person_phone_t')} AS person_phone_d,
    ${squash('s.position_phone_t')} AS position_phone_d,
    ${host('s.website_raw')} AS website_domain,
    ${host('s.domain_raw')} AS domain_given,
    -- Set exactly when the email is valid: the checks below test it instead of the regex again.
    CASE WHEN s.email ~ ${EMAIL_RE} THEN split_part(s.email, '@', 2) END AS email_domain,
    coalesce(s.siren_given, CASE WHEN ${luhn('s.siret', 14)} THEN left(s.siret, 9) END) AS siren
  FROM (
    SELECT row_number, err_code, err_field, err_message, err_raw,
      ${t('company_name')} AS company_name,
      ${squash(t('company_siren'))} AS siren_given,
      ${squash(t('company_siret'))} AS siret,
      upper(${squash(t('company_naf'))}) AS naf_raw,
      ${t('company_website')} AS website_raw,
      ${t('company_domain')} AS domain_raw,
      ${withScheme(t('company_linkedin'))} AS company_linkedin,
      ${t('company_phone')} AS company_phone_t,
      ${t('company_address')} AS company_address,
      ${t('company_postal_code')} AS company_postal_code,
      ${t('company_city')} AS company_city,
      ${t('company_country')} AS country_raw,
      ${t('company_employee_range')} AS company_employee_range,
      ${t('company_industry')} AS company_industry,
      ${t('company_pharow_id')} AS company_pharow_id,
      ${t('first_name')} AS first_name,
      ${t('last_name')} AS last_name,
      ${withScheme(t('person_linkedin'))} AS person_linkedin,
      ${t('person_phone')} AS person_phone_t,
      ${t('person_location')} AS person_location,
      ${t('person_pharow_id')} AS person_pharow_id,
      lower(${t('email')}) AS email,
      ${t('email_status')} AS email_status_raw,
      ${t('job_title')} AS job_title,
      ${t('position_phone')} AS position_phone_t,
      ${t('list_name')} AS list_name
    FROM ${STAGE_TABLE}
  ) s
) r`;

/** Text fields checked for spreadsheet formulas (phones are rewritten to E.164, so they are safe). */
const FORMULA_FIELDS: Array<[string, string]> = [
  ['company_name', 'company_name'],
  ['company_siren', 'siren_given'],
  ['company_siret', 'siret'],
  ['company_naf', 'naf_raw'],
  ['company_website', 'website_raw'],
  ['company_domain', 'domain_raw'],
  ['company_linkedin', 'company_linkedin'],
  ['company_address', 'company_address'],
  ['company_postal_code', 'company_postal_code'],
  ['company_city', 'company_city'],
  ['company_country', 'country_raw'],
  ['company_employee_range', 'company_employee_range'],
  ['company_industry', 'company_industry'],
  ['company_pharow_id', 'company_pharow_id'],
  ['first_name', 'first_name'],
  ['last_name', 'last_name'],
  ['person_linkedin', 'person_linkedin'],
  ['person_location', 'person_location'],
  ['person_pharow_id', 'person_pharow_id'],
  ['email', 'email'],
  ['email_status', 'email_status_raw'],
  ['job_title', 'job_title'],
  ['list_name', 'list_name'],
];

const URL_RE = `'^https?://[^\\s/?#]+\\.[^\\s]+$'`;

type Check = [condition: string, field: string | null, code: string, message: string, raw: string];

/** Spreadsheet-formula checks, one per text field; only run on rows where some field starts like one. */
const FORMULA_CHECKS: Check[] = FORMULA_FIELDS.map(([field, column]) => [
  formula(column),
  field,
  'formula_injection',
  'The value starts like a spreadsheet formula (= + - @)',
  column,
]);
const FORMULA_SUSPECT = `concat_ws(chr(1), ${FORMULA_FIELDS.map(([, c]) => c).join(', ')}) ~ ('(^|' || chr(1) || ')[=+@-]')`;

/** Format checks — a row fails on any true condition. */
const CHECKS: Check[] = [
  [
    `siren_given IS NOT NULL AND NOT ${luhn('siren_given', 9)}`,
    'company_siren',
    'invalid_siren',
    'SIREN must be 9 digits with a valid check digit',
    'siren_given',
  ],
  [
    `siret IS NOT NULL AND NOT ${luhn('siret', 14)}`,
    'company_siret',
    'invalid_siret',
    'SIRET must be 14 digits with a valid check digit',
    'siret',
  ],
  [
    `siret IS NOT NULL AND siren_given IS NOT NULL AND left(siret, 9) <> siren_given`,
    'company_siret',
    'siret_siren_mismatch',
    'The SIRET does not start with the SIREN',
    'siret',
  ],
  [
    `naf_raw IS NOT NULL AND naf_raw !~ '^[0-9]{2}\\.?[0-9]{2}[A-Z]$'`,
    'company_naf',
    'invalid_naf',
    'NAF code must look like 62.01Z',
    'naf_raw',
  ],
  [
    `website_raw IS NOT NULL AND (website_domain IS NULL OR website_domain !~ ${DOMAIN_RE} OR website_url !~ ${URL_RE})`,
    'company_website',
    'invalid_url',
    'Not a website address',
    'website_raw',
  ],
  [
    `domain_raw IS NOT NULL AND (domain_given IS NULL OR domain_given !~ ${DOMAIN_RE})`,
    'company_domain',
    'invalid_domain',
    'Not a domain name',
    'domain_raw',
  ],
  [
    `company_linkedin IS NOT NULL AND company_linkedin !~ ${URL_RE}`,
    'company_linkedin',
    'invalid_url',
    'Not a URL',
    'company_linkedin',
  ],
  [
    `person_linkedin IS NOT NULL AND person_linkedin !~ ${URL_RE}`,
    'person_linkedin',
    'invalid_url',
    'Not a URL',
    'person_linkedin',
  ],
  [
    `company_phone_t IS NOT NULL AND company_phone IS NULL`,
    'company_phone',
    'invalid_phone',
    'Not a French or international (+…) phone number',
    'company_phone_t',
  ],
  [
    `person_phone_t IS NOT NULL AND person_phone IS NULL`,
    'person_phone',
    'invalid_phone',
    'Not a French or international (+…) phone number',
    'person_phone_t',
  ],
  [
    `position_phone_t IS NOT NULL AND position_phone IS NULL`,
    'position_phone',
    'invalid_phone',
    'Not a French or international (+…) phone number',
    'position_phone_t',
  ],
  [
    `country_raw IS NOT NULL AND country_code IS NULL`,
    'company_country',
    'invalid_country',
    'Country must be an ISO code (FR) or a known name',
    'country_raw',
  ],
  [
    `email IS NOT NULL AND (email_domain IS NULL OR length(email) > 254)`,
    'email',
    'invalid_email',
    'Not an email address',
    'email',
  ],
  [
    `length(company_name) > 500`,
    'company_name',
    'value_too_long',
    'Company name is longer than 500 characters',
    'left(company_name, 200)',
  ],
  [
    `length(company_pharow_id) > 200`,
    'company_pharow_id',
    'value_too_long',
    'Pharow company id is longer than 200 characters',
    'left(company_pharow_id, 200)',
  ],
  [
    `length(person_pharow_id) > 200`,
    'person_pharow_id',
    'value_too_long',
    'Pharow person id is longer than 200 characters',
    'left(person_pharow_id, 200)',
  ],
  [
    `email IS NULL AND coalesce(first_name, last_name, job_title, person_phone_t, person_linkedin, position_phone_t, person_pharow_id) IS NOT NULL`,
    'email',
    'missing_email',
    'A person needs an email address to be imported',
    'NULL',
  ],
  [
    `siren IS NULL AND domain IS NULL AND company_pharow_id IS NULL AND email_domain IS NOT NULL`,
    'company_siren',
    'missing_company_key',
    'The company needs a SIREN, a website, a domain or a Pharow id (the email is from a free mail provider)',
    'NULL',
  ],
  [
    `siren IS NULL AND domain IS NULL AND company_pharow_id IS NULL AND email IS NULL`,
    null,
    'missing_key',
    'The row has no email, SIREN, website, domain or Pharow company id',
    'NULL',
  ],
];

const checkValues = (checks: Check[]) =>
  checks
    .map(
      ([condition, field, code, message, raw]) =>
        `(coalesce(${condition}, false), ${field ? literal(field) : 'NULL::text'}, ${literal(code)}, ${literal(message)}, left((${raw})::text, 1000))`,
    )
    .join(',\n    ');

/**
 * True when some check fails. Filtering rows with it first spares the error rows of every valid
 * row (most of them) from being built and thrown away (validation ~4x faster on 100k rows).
 */
const anyFails = (checks: Check[]) => checks.map(([condition]) => `(${condition})`).join(' OR ');

/** 2. Errors found before looking at the database (plus those the CSV reader staged). */
const ERRORS = `
CREATE TEMP TABLE pf_import_errs ON COMMIT DROP AS
SELECT row_number, err_field AS field, err_code AS code, err_message AS message, err_raw AS raw
  FROM pf_import_rows WHERE err_code IS NOT NULL
UNION ALL
SELECT r.row_number, c.field, c.code, c.message, c.raw
  FROM pf_import_rows r
  CROSS JOIN LATERAL (VALUES ${checkValues(FORMULA_CHECKS)}) AS c(failed, field, code, message, raw)
 WHERE r.err_code IS NULL AND ${FORMULA_SUSPECT} AND c.failed
UNION ALL
SELECT r.row_number, c.field, c.code, c.message, c.raw
  FROM pf_import_rows r
  CROSS JOIN LATERAL (VALUES ${checkValues(CHECKS)}) AS c(failed, field, code, message, raw)
 WHERE r.err_code IS NULL AND (${anyFails(CHECKS)}) AND c.failed`;

/**
 * 3. Error-free rows with their company key (one company per key in the file: SIREN, else Pharow
 * id, else domain); existing companies are matched by Pharow id, else SIREN, else domain.
 */
const CANDIDATES = `
CREATE TEMP TABLE pf_import_ok ON COMMIT DROP AS
SELECT r.*, coalesce('siren:' || r.siren, 'pharow:' || r.company_pharow_id, 'domain:' || r.domain) AS company_key,
  CASE WHEN r.naf_raw IS NULL THEN NULL ELSE substr(replace(r.naf_raw, '.', ''), 1, 2) || '.' || substr(replace(r.naf_raw, '.', ''), 3) END AS naf_code
  FROM pf_import_rows r
 WHERE NOT EXISTS (SELECT 1 FROM pf_import_errs e WHERE e.row_number = r.row_number)`;

const COMPANIES = `
CREATE TEMP TABLE pf_import_companies ON COMMIT DROP AS
SELECT k.*, coalesce(byp.id, bys.id, byd.id) AS existing_id, gen_random_uuid() AS new_id
  FROM (SELECT DISTINCT ON (company_key) company_key, row_number AS first_row, company_name, siren, siret, naf_code,
               website_url, domain, company_linkedin, company_phone, company_address, company_postal_code,
               company_city, country_code, company_employee_range, company_industry, company_pharow_id
          FROM pf_import_ok ORDER BY company_key, row_number) k
  LEFT JOIN crm.companies byp ON k.company_pharow_id IS NOT NULL AND byp.pharow_company_id = k.company_pharow_id
  LEFT JOIN crm.companies bys ON k.siren IS NOT NULL AND bys.siren = k.siren
  LEFT JOIN LATERAL (
    SELECT c.id FROM crm.companies c
     WHERE k.siren IS NULL AND c.domain = k.domain::citext
     ORDER BY c.created_at, c.id LIMIT 1) byd ON true`;

/**
 * Rows whose position or person exists: the position by email; otherwise the person by Pharow id
 * (with their position at the row's company, if any, whose email the row then updates).
 */
const POSITIONS_MATCH = `
CREATE TEMP TABLE pf_import_positions ON COMMIT DROP AS
SELECT o.row_number, p.id AS position_id, p.person_id
  FROM pf_import_ok o JOIN crm.positions p ON p.email = o.email::citext
 WHERE o.email IS NOT NULL
UNION ALL
SELECT o.row_number, at_company.id, pe.id
  FROM pf_import_ok o
  JOIN crm.people pe ON pe.pharow_person_id = o.person_pharow_id
  JOIN pf_import_companies k USING (company_key)
  LEFT JOIN LATERAL (
    SELECT p.id FROM crm.positions p WHERE p.person_id = pe.id AND p.company_id = k.existing_id
     ORDER BY p.created_at, p.id LIMIT 1) at_company ON true
 WHERE o.person_pharow_id IS NOT NULL AND o.email IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM crm.positions p WHERE p.email = o.email::citext)`;

/** 4. Checks that depend on what exists already: a new company needs a name, a new person a name. */
const DB_ERRORS = `
INSERT INTO pf_import_errs (row_number, field, code, message, raw)
SELECT o.row_number, 'company_name', 'missing_company_name', 'A new company needs a name', NULL
  FROM pf_import_ok o JOIN pf_import_companies k USING (company_key)
 WHERE k.existing_id IS NULL AND k.company_name IS NULL
UNION ALL
SELECT o.row_number, 'last_name', 'missing_name', 'A new person needs a first or last name', NULL
  FROM pf_import_ok o
 WHERE o.email IS NOT NULL AND o.first_name IS NULL AND o.last_name IS NULL
   AND NOT EXISTS (SELECT 1 FROM pf_import_positions p WHERE p.row_number = o.row_number)
UNION ALL
SELECT o.row_number, 'company_pharow_id', 'pharow_id_conflict',
       'Another company of the file (row ' || other.first_row || ') has this Pharow id', o.company_pharow_id
  FROM pf_import_ok o JOIN pf_import_companies k USING (company_key)
  JOIN (SELECT company_pharow_id, min(first_row) AS first_row FROM pf_import_companies
         WHERE company_pharow_id IS NOT NULL GROUP BY company_pharow_id) other
    ON other.company_pharow_id = k.company_pharow_id AND other.first_row < k.first_row`;

/**
 * 5. Suppressed rows, then in-file duplicates (same email, or same company for rows without
 * email, or same Pharow person id; the first row wins), are skipped and recorded.
 */
const SKIPS = `
INSERT INTO pf_import_errs (row_number, field, code, message, raw)
WITH live AS (
  SELECT o.* FROM pf_import_ok o
   WHERE NOT EXISTS (SELECT 1 FROM pf_import_errs e WHERE e.row_number = o.row_number)
), flagged AS (
  SELECT l.row_number, l.email, l.domain, l.company_key, l.person_pharow_id,
    (l.email IS NOT NULL AND l.email::citext IN (SELECT email FROM outreach.suppressions WHERE email IS NOT NULL))
      OR l.email_domain::citext IN (SELECT domain FROM outreach.suppressions WHERE domain IS NOT NULL)
      OR l.domain::citext IN (SELECT domain FROM outreach.suppressions WHERE domain IS NOT NULL) AS suppressed
    FROM live l
), ranked AS (
  SELECT f.*, row_number() OVER (PARTITION BY coalesce('email:' || f.email, f.company_key) ORDER BY f.row_number) AS rank,
         min(f.row_number) OVER (PARTITION BY coalesce('email:' || f.email, f.company_key)) AS first_row
    FROM flagged f WHERE NOT f.suppressed
), first_of_person AS (
  SELECT person_pharow_id, min(row_number) AS first_row
    FROM flagged WHERE NOT suppressed AND person_pharow_id IS NOT NULL GROUP BY person_pharow_id
)
SELECT row_number, CASE WHEN email IS NOT NULL THEN 'email' END, 'suppressed', 'The email or its domain is on the suppression list', email
  FROM flagged WHERE suppressed
UNION ALL
SELECT row_number, CASE WHEN email IS NOT NULL THEN 'email' END, 'duplicate_in_file', 'Same ' || CASE WHEN email IS NOT NULL THEN 'email' ELSE 'company' END || ' as row ' || first_row, coalesce(email, company_key)
  FROM ranked WHERE rank > 1
UNION ALL
SELECT r.row_number, 'person_pharow_id', 'duplicate_in_file', 'Same Pharow person id as row ' || p.first_row, r.person_pharow_id
  FROM ranked r JOIN first_of_person p USING (person_pharow_id)
 WHERE r.rank = 1 AND r.row_number > p.first_row`;

const ACCEPTED = `
CREATE TEMP TABLE pf_import_accepted ON COMMIT DROP AS
SELECT o.*, k.existing_id AS company_existing_id, coalesce(k.existing_id, k.new_id) AS company_id,
       p.position_id, p.person_id AS existing_person_id, gen_random_uuid() AS new_person_id
  FROM pf_import_ok o
  JOIN pf_import_companies k USING (company_key)
  LEFT JOIN pf_import_positions p USING (row_number)
 WHERE NOT EXISTS (SELECT 1 FROM pf_import_errs e WHERE e.row_number = o.row_number)`;

/**
 * The organisation for inserted rows, read once per row from the setting (a cheap builtin): the
 * column DEFAULT would call the plpgsql app.current_organisation_id() per row. RLS still checks it.
 */
const ORG = `current_setting('app.organisation_id')::uuid`;

/** 6. Upserts: only non-null incoming values replace stored ones. */
const UPDATE_COMPANIES = `
UPDATE crm.companies c SET
  name = coalesce(k.company_name, c.name), siret = coalesce(k.siret, c.siret), naf_code = coalesce(k.naf_code, c.naf_code),
  website_url = coalesce(k.website_url, c.website_url), domain = coalesce(k.domain::citext, c.domain),
  linkedin_url = coalesce(k.company_linkedin, c.linkedin_url), phone = coalesce(k.company_phone, c.phone),
  address_line1 = coalesce(k.company_address, c.address_line1), postal_code = coalesce(k.company_postal_code, c.postal_code),
  city = coalesce(k.company_city, c.city), country_code = coalesce(k.country_code, c.country_code),
  employee_range = coalesce(k.company_employee_range, c.employee_range), industry = coalesce(k.company_industry, c.industry),
  pharow_company_id = coalesce(c.pharow_company_id, k.company_pharow_id)
FROM pf_import_companies k
WHERE c.id = k.existing_id AND k.company_key IN (SELECT company_key FROM pf_import_accepted)`;

const INSERT_COMPANIES = `
INSERT INTO crm.companies (organisation_id, id, name, siren, siret, naf_code, website_url, domain, linkedin_url, phone, address_line1,
                           postal_code, city, country_code, employee_range, industry, pharow_company_id)
SELECT ${ORG}, new_id, company_name, siren, siret, naf_code, website_url, domain, company_linkedin, company_phone, company_address,
       company_postal_code, company_city, country_code, company_employee_range, company_industry, company_pharow_id
  FROM pf_import_companies
 WHERE existing_id IS NULL AND company_key IN (SELECT company_key FROM pf_import_accepted)`;

const UPDATE_PEOPLE = `
UPDATE crm.people p SET
  first_name = coalesce(a.first_name, p.first_name), last_name = coalesce(a.last_name, p.last_name),
  linkedin_url = coalesce(a.person_linkedin, p.linkedin_url), phone = coalesce(a.person_phone, p.phone),
  location = coalesce(a.person_location, p.location),
  -- A stored Pharow id is kept; a new one is taken unless another person already holds it.
  pharow_person_id = CASE
    WHEN p.pharow_person_id IS NULL
     AND NOT EXISTS (SELECT 1 FROM crm.people other WHERE other.pharow_person_id = a.person_pharow_id)
    THEN a.person_pharow_id ELSE p.pharow_person_id END
FROM pf_import_accepted a
WHERE p.id = a.existing_person_id`;

const INSERT_PEOPLE = `
INSERT INTO crm.people (organisation_id, id, first_name, last_name, linkedin_url, phone, location, pharow_person_id)
SELECT ${ORG}, new_person_id, first_name, last_name, person_linkedin, person_phone, person_location, person_pharow_id
  FROM pf_import_accepted WHERE email IS NOT NULL AND existing_person_id IS NULL`;

const UPDATE_POSITIONS = `
UPDATE crm.positions p SET
  company_id = a.company_id, email = a.email::citext, title = coalesce(a.job_title, p.title), phone = coalesce(a.position_phone, p.phone),
  email_status = CASE WHEN a.email_status = 'unknown' THEN p.email_status ELSE a.email_status END,
  list_name = coalesce(a.list_name, p.list_name)
FROM pf_import_accepted a
WHERE p.id = a.position_id`;

const INSERT_POSITIONS = `
INSERT INTO crm.positions (organisation_id, person_id, company_id, title, email, email_status, phone, list_name)
SELECT ${ORG}, coalesce(existing_person_id, new_person_id), company_id, job_title, email, email_status, position_phone, list_name
  FROM pf_import_accepted WHERE email IS NOT NULL AND position_id IS NULL`;

export const PIPELINE: ReadonlyArray<readonly [name: string, sql: string]> = [
  ['normalise', ROWS],
  ['validate', ERRORS],
  ['candidates', CANDIDATES],
  ['match_companies', COMPANIES],
  ['match_positions', POSITIONS_MATCH],
  ['validate_against_existing', DB_ERRORS],
  ['skip_suppressed_and_duplicates', SKIPS],
  ['accepted', ACCEPTED],
  ['update_companies', UPDATE_COMPANIES],
  ['insert_companies', INSERT_COMPANIES],
  ['update_people', UPDATE_PEOPLE],
  ['insert_people', INSERT_PEOPLE],
  ['update_positions', UPDATE_POSITIONS],
  ['insert_positions', INSERT_POSITIONS],
];

/** Row counts: params none. `inserted` = rows whose position (or, without email, company) is new. */
export const COUNTS_SQL = `
SELECT
  (SELECT count(*) FROM ${STAGE_TABLE})::int AS total,
  (SELECT count(*) FILTER (WHERE (email IS NOT NULL AND position_id IS NULL) OR (email IS NULL AND company_existing_id IS NULL))
     FROM pf_import_accepted)::int AS inserted,
  (SELECT count(*) FILTER (WHERE NOT ((email IS NOT NULL AND position_id IS NULL) OR (email IS NULL AND company_existing_id IS NULL)))
     FROM pf_import_accepted)::int AS updated,
  (SELECT count(DISTINCT row_number) FROM pf_import_errs WHERE code IN ('suppressed', 'duplicate_in_file'))::int AS skipped,
  (SELECT count(DISTINCT row_number) FROM pf_import_errs WHERE code NOT IN ('suppressed', 'duplicate_in_file'))::int AS failed`;

/** $1 import id, $2 jsonb field → source header. */
export const SAVE_ERRORS_SQL = `
INSERT INTO crm.import_errors (import_id, row_number, column_name, code, message, raw_value)
SELECT $1, greatest(row_number, 1), coalesce($2::jsonb ->> field, field), code, message, raw
  FROM pf_import_errs ORDER BY row_number`;
