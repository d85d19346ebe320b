/** The writes of an import, once matching has chosen the accepted rows (match-sql.ts). */

/**
 * The organisation for inserted rows, read once per row from the setting (a cheap builtin): the
 * column DEFAULT would call the plpgsql app.current_organisation_id() per row. RLS still checks it.
 */
const ORG = `current_setting('app.organisation_id')::uuid`;

/** Upserts: only non-null incoming values replace stored ones. */
export const UPDATE_COMPANIES = `
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

export const INSERT_COMPANIES = `
INSERT INTO crm.companies (organisation_id, id, name, siren, siret, naf_code, website_url, domain, linkedin_url, phone, address_line1,
                           postal_code, city, country_code, employee_range, industry, pharow_company_id)
SELECT ${ORG}, new_id, company_name, siren, siret, naf_code, website_url, domain, company_linkedin, company_phone, company_address,
       company_postal_code, company_city, country_code, company_employee_range, company_industry, company_pharow_id
  FROM pf_import_companies
 WHERE existing_id IS NULL AND company_key IN (SELECT company_key FROM pf_import_accepted)`;

export const UPDATE_PEOPLE = `
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

export const INSERT_PEOPLE = `
INSERT INTO crm.people (organisation_id, id, first_name, last_name, linkedin_url, phone, location, pharow_person_id)
SELECT ${ORG}, new_person_id, first_name, last_name, person_linkedin, person_phone, person_location, person_pharow_id
  FROM pf_import_accepted WHERE email IS NOT NULL AND existing_person_id IS NULL`;

export const UPDATE_POSITIONS = `
UPDATE crm.positions p SET
  company_id = a.company_id, email = a.email::citext, title = coalesce(a.job_title, p.title), phone = coalesce(a.position_phone, p.phone),
  email_status = CASE WHEN a.email_status = 'unknown' THEN p.email_status ELSE a.email_status END,
  list_name = coalesce(a.list_name, p.list_name)
FROM pf_import_accepted a
WHERE p.id = a.position_id`;

export const INSERT_POSITIONS = `
INSERT INTO crm.positions (organisation_id, person_id, company_id, title, email, email_status, phone, list_name)
SELECT ${ORG}, coalesce(existing_person_id, new_person_id), company_id, job_title, email, email_status, position_phone, list_name
  FROM pf_import_accepted WHERE email IS NOT NULL AND position_id IS NULL`;
