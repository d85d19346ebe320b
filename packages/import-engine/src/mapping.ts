import { ImportFailure } from './errors.js';
import { IMPORT_FIELDS, type ImportField, isImportField } from './fields.js';

/** Custom mapping from the request: source header → canonical field (or null to ignore it). */
export type CustomMapping = Record<string, string | null>;

/** How one file's columns were resolved. */
export interface ResolvedMapping {
  /** For each canonical field present, the index of its source column. */
  columns: Partial<Record<ImportField, number>>;
  /** For each canonical field present, the source header (used in per-row errors). */
  headers: Partial<Record<ImportField, string>>;
  /** Source headers that map to nothing. */
  ignored: string[];
}

/** Lower-case, accents stripped, punctuation collapsed: "Téléphone  (entreprise)" → "telephone entreprise". */
export function normaliseHeader(header: string): string {
  return header
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/**
 * Built-in aliases: Pharow exports (French headers) plus common English names. Keys are
 * normalised headers (see normaliseHeader).
 */
const ALIASES: Record<string, ImportField> = {};
function alias(field: ImportField, ...names: string[]): void {
  for (const name of [field, ...names]) ALIASES[normaliseHeader(name)] = field;
}
alias(
  'company_name',
  "Nom de l'entreprise",
  'Entreprise',
  'Raison sociale',
  'Société',
  'Company',
  'Company name',
  'Organisation',
  'Organization',
);
alias('company_siren', 'SIREN', "SIREN de l'entreprise", 'Numéro SIREN');
alias('company_siret', 'SIRET', 'SIRET du siège', 'Numéro SIRET');
alias('company_naf', 'Code NAF', 'NAF', 'Code APE', 'APE', 'NAF code');
alias(
  'company_website',
  'Site web',
  'Site internet',
  "Site web de l'entreprise",
  'Website',
  'Company website',
  'URL',
);
alias('company_domain', 'Domaine', "Domaine de l'entreprise", 'Domain', 'Company domain');
alias(
  'company_linkedin',
  "LinkedIn de l'entreprise",
  'LinkedIn entreprise',
  'URL LinkedIn entreprise',
  'Company LinkedIn',
  'Company LinkedIn URL',
);
alias(
  'company_phone',
  "Téléphone de l'entreprise",
  'Téléphone entreprise',
  'Téléphone standard',
  'Company phone',
);
alias('company_address', 'Adresse', 'Adresse du siège', 'Address', 'Company address');
alias('company_postal_code', 'Code postal', 'CP', 'Postal code', 'Zip', 'Zip code');
alias('company_city', 'Ville', 'Commune', 'City');
alias('company_country', 'Pays', 'Code pays', 'Country', 'Country code');
alias(
  'company_employee_range',
  "Tranche d'effectif",
  'Effectif',
  'Tranche effectif',
  'Employees',
  'Employee range',
  'Company size',
);
alias('company_industry', "Secteur d'activité", 'Secteur', 'Libellé NAF', 'Industry');
// Pharow's own identifiers: stored as the company's / person's external id (crm.companies.pharow_company_id,
// crm.people.pharow_person_id, unique per organisation), which re-imports match on first.
alias(
  'company_pharow_id',
  'ID entreprise',
  'ID entreprise Pharow',
  'ID Pharow entreprise',
  'Identifiant entreprise',
  'Identifiant entreprise Pharow',
  'Pharow company ID',
  'Company Pharow ID',
);
alias(
  'person_pharow_id',
  'ID contact',
  'ID contact Pharow',
  'ID Pharow contact',
  'ID personne',
  'ID personne Pharow',
  'Identifiant contact',
  'Pharow person ID',
  'Pharow contact ID',
  'Person Pharow ID',
);
alias('first_name', 'Prénom', 'First name', 'Firstname', 'Given name');
alias('last_name', 'Nom', 'Nom de famille', 'Last name', 'Lastname', 'Surname', 'Family name');
alias(
  'person_linkedin',
  'LinkedIn',
  'URL LinkedIn',
  'Profil LinkedIn',
  'LinkedIn URL',
  'LinkedIn profile',
  'Person LinkedIn',
);
alias(
  'person_phone',
  'Téléphone mobile',
  'Mobile',
  'Portable',
  'Téléphone portable',
  'Mobile phone',
  'Phone',
);
alias('person_location', 'Localisation', 'Location');
alias(
  'email',
  'Email',
  'E-mail',
  'Adresse email',
  'Adresse e-mail',
  'Email professionnel',
  'Mail',
  'Work email',
);
alias('email_status', 'Statut email', "Statut de l'email", 'Fiabilité email', 'Email status');
alias('job_title', 'Poste', 'Intitulé de poste', 'Fonction', 'Titre', 'Job title', 'Title', 'Position');
alias('position_phone', 'Téléphone', 'Téléphone direct', 'Ligne directe', 'Direct phone', 'Work phone');
alias('list_name', 'Liste', 'Nom de la liste', 'List', 'List name');

/**
 * Pharow ids that do not say whose they are ("ID Pharow"): the row's entity — the person in an
 * export of people (the file has an email or name column), the company otherwise.
 */
const GENERIC_PHAROW_ID = new Set(
  ['ID Pharow', 'Pharow ID', 'Identifiant Pharow', 'Pharow'].map(normaliseHeader),
);
const PERSON_FIELDS: readonly ImportField[] = ['email', 'first_name', 'last_name'];

/** Validates a custom mapping from the request: every target must be a canonical field or null. */
export function parseCustomMapping(value: unknown): CustomMapping {
  if (value === undefined || value === null || value === '') return {};
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new ImportFailure('invalid_mapping', 'The mapping is not valid JSON');
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ImportFailure('invalid_mapping', 'The mapping must be an object of "source column": "field"');
  }
  const mapping: CustomMapping = {};
  for (const [source, target] of Object.entries(parsed)) {
    if (target !== null && (typeof target !== 'string' || !isImportField(target))) {
      throw new ImportFailure(
        'invalid_mapping',
        `Mapping of "${source}" targets "${String(target)}", which is not one of: ${IMPORT_FIELDS.join(', ')}`,
      );
    }
    mapping[source] = target;
  }
  return mapping;
}

/**
 * Resolves a header row: the custom mapping first (exact or normalised header match), then the
 * built-in aliases, then a bare "ID Pharow" (see GENERIC_PHAROW_ID). A field is taken by its first
 * column only.
 */
export function resolveMapping(header: readonly string[], custom: CustomMapping = {}): ResolvedMapping {
  const customByNormalised = new Map<string, string | null>();
  for (const [source, target] of Object.entries(custom))
    customByNormalised.set(normaliseHeader(source), target);
  const resolved: ResolvedMapping = { columns: {}, headers: {}, ignored: [] };
  const genericPharow: number[] = [];
  header.forEach((raw, index) => {
    const name = raw.trim();
    const key = normaliseHeader(name);
    let target: string | null | undefined;
    if (Object.hasOwn(custom, name)) target = custom[name];
    else if (customByNormalised.has(key)) target = customByNormalised.get(key);
    else if (GENERIC_PHAROW_ID.has(key)) {
      genericPharow.push(index); // resolved once every other column is known
      return;
    } else target = ALIASES[key];
    if (target && isImportField(target) && resolved.columns[target] === undefined) {
      resolved.columns[target] = index;
      resolved.headers[target] = name;
    } else if (name !== '') {
      resolved.ignored.push(name);
    }
  });
  const personFile = PERSON_FIELDS.some((field) => resolved.columns[field] !== undefined);
  for (const index of genericPharow) {
    const target: ImportField = personFile ? 'person_pharow_id' : 'company_pharow_id';
    const name = header[index]!.trim();
    if (resolved.columns[target] === undefined) {
      resolved.columns[target] = index;
      resolved.headers[target] = name;
    } else {
      resolved.ignored.push(name);
    }
  }
  return resolved;
}

/** Fields that identify something: without one of them no row can be imported. */
const KEY_FIELDS: readonly ImportField[] = [
  'email',
  'company_siren',
  'company_domain',
  'company_website',
  'company_pharow_id',
];

/** Refuses a file whose columns can never produce a row (wrong delimiter, wrong file, no mapping). */
export function assertUsable(mapping: ResolvedMapping): void {
  if (!KEY_FIELDS.some((field) => mapping.columns[field] !== undefined)) {
    throw new ImportFailure(
      'no_usable_columns',
      `No column maps to one of ${KEY_FIELDS.join(', ')}; ignored columns: ${mapping.ignored.slice(0, 20).join(', ') || '(none)'}. Send a mapping.`,
    );
  }
}
