/**
 * Matching, run after the stage table is filled (staging.ts): which rows are candidates, which
 * companies, people and positions of the file exist already, the checks that depend on them, and
 * which rows are skipped (suppressed, or duplicates within the file).
 */
import { ERASED_TABLE } from './erased-subjects.js';
import { STAGE_TABLE } from './staging.js';

/** Errors of rows that never reach the database: staged by the reader and by the row checks. */
export const ERRORS = `
CREATE TEMP TABLE pf_import_errs ON COMMIT DROP AS
SELECT row_number, err_field AS field, err_code AS code, err_message AS message, err_raw AS raw
  FROM ${STAGE_TABLE} WHERE err_code IS NOT NULL`;

/**
 * Rows without errors, each with its company key (one company per key in the file: SIREN, else
 * Pharow id, else domain; computed while staging). A view: no copy of the stage table.
 */
export const CANDIDATES = `
CREATE TEMP VIEW pf_import_ok AS SELECT * FROM ${STAGE_TABLE} WHERE err_code IS NULL`;

/** Existing companies are matched by Pharow id, else SIREN, else domain. */
export const COMPANIES = `
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
export const POSITIONS_MATCH = `
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

/** Checks that depend on what exists already: a new company needs a name, a new person a name. */
export const DB_ERRORS = `
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
 * Suppressed rows, then in-file duplicates (same email, or same company for rows without
 * email, or same Pharow person id; the first row wins), are skipped and recorded.
 */
export const SKIPS = `
INSERT INTO pf_import_errs (row_number, field, code, message, raw)
WITH live AS (
  SELECT o.* FROM pf_import_ok o
   WHERE NOT EXISTS (SELECT 1 FROM pf_import_errs e WHERE e.row_number = o.row_number)
), flagged AS (
  SELECT l.row_number, l.email, l.domain, l.company_key, l.person_pharow_id,
    coalesce(l.email IN (SELECT email FROM ${ERASED_TABLE}), false) AS erased,
    (l.email IS NOT NULL AND l.email::citext IN (SELECT email FROM outreach.suppressions WHERE email IS NOT NULL))
      OR coalesce(l.email IN (SELECT email FROM ${ERASED_TABLE}), false)
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
-- An erased person's address is not kept even here (raw value NULL).
SELECT row_number, CASE WHEN email IS NOT NULL THEN 'email' END, 'suppressed',
       CASE WHEN erased THEN 'The person asked to be erased or objected' ELSE 'The email or its domain is on the suppression list' END,
       CASE WHEN erased THEN NULL ELSE email END
  FROM flagged WHERE suppressed
UNION ALL
SELECT row_number, CASE WHEN email IS NOT NULL THEN 'email' END, 'duplicate_in_file', 'Same ' || CASE WHEN email IS NOT NULL THEN 'email' ELSE 'company' END || ' as row ' || first_row, coalesce(email, company_key)
  FROM ranked WHERE rank > 1
UNION ALL
SELECT r.row_number, 'person_pharow_id', 'duplicate_in_file', 'Same Pharow person id as row ' || p.first_row, r.person_pharow_id
  FROM ranked r JOIN first_of_person p USING (person_pharow_id)
 WHERE r.rank = 1 AND r.row_number > p.first_row`;

export const ACCEPTED = `
CREATE TEMP TABLE pf_import_accepted ON COMMIT DROP AS
SELECT o.*, k.existing_id AS company_existing_id, coalesce(k.existing_id, k.new_id) AS company_id,
       p.position_id, p.person_id AS existing_person_id, gen_random_uuid() AS new_person_id
  FROM pf_import_ok o
  JOIN pf_import_companies k USING (company_key)
  LEFT JOIN pf_import_positions p USING (row_number)
 WHERE NOT EXISTS (SELECT 1 FROM pf_import_errs e WHERE e.row_number = o.row_number)`;
