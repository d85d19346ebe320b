/**
 * Normalisation of one source row in TypeScript, while the file is read: each field goes through
 * its @prospectflow/field-rules rule (the one definition), so PostgreSQL receives the stored
 * forms and only matches and writes them. What the row's checks need (trimmed raw values, the
 * outcome of each rule) is kept beside the stored values.
 */
import {
  country,
  email,
  emailDomain,
  hostOf,
  identifierDigits,
  naf,
  type Outcome,
  presentValue,
  sirenOfSiret,
  siren as sirenRule,
  siret,
  url,
} from '@prospectflow/field-rules';
import { IMPORT_FIELDS, type ImportField, type StagedColumn } from './fields.js';
import type { PhoneNormaliser } from './phones.js';

/** Mail providers whose domain says nothing about the employer (no company from the email). */
const FREE_MAIL: ReadonlySet<string> = new Set([
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
]);

/** What data providers write in an email-status column → crm.positions.email_status. */
const EMAIL_STATUS: ReadonlyMap<string, string> = new Map([
  ...['valid', 'valide', 'verified', 'vérifié', 'verifie', 'deliverable', 'ok', 'sûr', 'sur'].map(
    (s) => [s, 'valid'] as const,
  ),
  ...['risky', 'risqué', 'risque', 'probable', 'incertain'].map((s) => [s, 'risky'] as const),
  ...['catch-all', 'catch_all', 'catchall', 'accept all', 'accept-all', 'accept_all'].map(
    (s) => [s, 'catch_all'] as const,
  ),
  ...['invalid', 'invalide', 'undeliverable', 'bounce'].map((s) => [s, 'invalid'] as const),
]);

export type StagedValues = Record<StagedColumn, string | null>;

/** Trimmed source values the checks report (and test for formulas), beside the stored forms. */
export interface Inputs {
  sirenGiven: string | null;
  sirenValid: boolean;
  siret: string | null;
  siretValid: boolean;
  nafDigits: string | null;
  website: string | null;
  domain: string | null;
  domainGiven: string | null;
  companyLinkedin: string | null;
  companyPhone: string | null;
  country: string | null;
  personLinkedin: string | null;
  personPhone: string | null;
  positionPhone: string | null;
  emailStatus: string | null;
}

export interface NormalisedRow {
  stored: StagedValues;
  inputs: Inputs;
}

const INDEX = Object.fromEntries(IMPORT_FIELDS.map((f, i) => [f, i])) as Record<ImportField, number>;

/** Separators removed, '' → null (identifiers typed as `552 100 554`). */
function digits(value: string | null): string | null {
  if (value === null) return null;
  const out = identifierDigits(value);
  return out === '' ? null : out;
}

/** A rule's stored form, or null when it refuses the value (absent stays null). */
function stored(rule: (raw: string) => Outcome, value: string | null): string | null {
  if (value === null) return null;
  const outcome = rule(value);
  return outcome.ok ? outcome.value : null;
}

/** One row's values (IMPORT_FIELDS order) as stored, plus the inputs its checks look at. */
export function normaliseRow(
  values: ReadonlyArray<string | null | undefined>,
  phones: PhoneNormaliser,
): NormalisedRow {
  const get = (field: ImportField) => presentValue(values[INDEX[field]]);
  const sirenGiven = digits(get('company_siren'));
  const siretDigits = digits(get('company_siret'));
  const nafDigits = digits(get('company_naf'));
  const website = get('company_website');
  const domainRaw = get('company_domain');
  const companyLinkedin = get('company_linkedin');
  const personLinkedin = get('person_linkedin');
  const countryRaw = get('company_country');
  const emailStatus = get('email_status');
  // The rule alone lower-cases (A–Z only): `toLowerCase()` here would fold U+212A into `k` first.
  const emailGiven = get('email');

  const websiteUrl = stored(url, website);
  const websiteDomain = websiteUrl === null ? null : (hostOf(websiteUrl) ?? null);
  const domainGiven = domainRaw === null ? null : (hostOf(domainRaw) ?? null);
  const validEmail = stored(email, emailGiven);
  const emailDomainValue = validEmail === null ? null : emailDomain(validEmail);
  const validSiret = stored(siret, siretDigits);
  const siren = sirenGiven ?? (validSiret === null ? null : sirenOfSiret(validSiret));
  const domainValue =
    domainGiven ??
    websiteDomain ??
    (emailDomainValue !== null && !FREE_MAIL.has(emailDomainValue) ? emailDomainValue : null);
  const companyPharowId = get('company_pharow_id');
  const companyKey =
    siren !== null
      ? `siren:${siren}`
      : companyPharowId !== null
        ? `pharow:${companyPharowId}`
        : domainValue !== null
          ? `domain:${domainValue}`
          : null;

  return {
    stored: {
      company_name: get('company_name'),
      siren,
      siret: siretDigits,
      naf_code: stored(naf, nafDigits),
      website_url: websiteUrl,
      domain: domainValue,
      company_linkedin: stored(url, companyLinkedin),
      company_phone: phones.e164(values[INDEX.company_phone]),
      company_address: get('company_address'),
      company_postal_code: get('company_postal_code'),
      company_city: get('company_city'),
      country_code: stored(country, countryRaw),
      company_employee_range: get('company_employee_range'),
      company_industry: get('company_industry'),
      company_pharow_id: companyPharowId,
      first_name: get('first_name'),
      last_name: get('last_name'),
      person_linkedin: stored(url, personLinkedin),
      person_phone: phones.e164(values[INDEX.person_phone]),
      person_location: get('person_location'),
      person_pharow_id: get('person_pharow_id'),
      email: validEmail ?? emailGiven,
      email_domain: emailDomainValue,
      email_status: (emailStatus && EMAIL_STATUS.get(emailStatus.toLowerCase())) ?? 'unknown',
      job_title: get('job_title'),
      position_phone: phones.e164(values[INDEX.position_phone]),
      list_name: get('list_name'),
      company_key: companyKey,
    },
    inputs: {
      sirenGiven,
      sirenValid: sirenGiven !== null && stored(sirenRule, sirenGiven) !== null,
      siret: siretDigits,
      siretValid: validSiret !== null,
      nafDigits,
      website,
      domain: domainRaw,
      domainGiven,
      companyLinkedin,
      companyPhone: get('company_phone'),
      country: countryRaw,
      personLinkedin,
      personPhone: get('person_phone'),
      positionPhone: get('position_phone'),
      emailStatus,
    },
  };
}
