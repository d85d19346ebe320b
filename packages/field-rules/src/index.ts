/**
 * @prospectflow/field-rules: the one definition of each field rule. Every door (JSON API, CSV
 * import, SQLite import) stores what these functions answer; the SQL twins in sql.ts are checked
 * against them case by case.
 */
export { COUNTRY_CODES, COUNTRY_NAMES, country } from './country.js';
export { email, emailDomain } from './email.js';
export { FOLD_FROM, FOLD_TO, fold } from './fold.js';
export {
  identifierDigits,
  luhnValid,
  naf,
  siren,
  sirenOfSiret,
  siret,
  siretMatchesSiren,
} from './identifiers.js';
export { accept, type Outcome, refuse } from './outcome.js';
export * as patterns from './patterns.js';
export { DEFAULT_PHONE_COUNTRY, phone } from './phone.js';
export {
  SQL_RULES,
  sqlCountry,
  sqlEmail,
  sqlHostOf,
  sqlIdentifierDigits,
  sqlLiteral,
  sqlLuhn,
  sqlNafOfDigits,
  sqlPresent,
  sqlSirenOfDigits,
  sqlSiretOfDigits,
  sqlUrl,
} from './sql.js';
export { presentValue, trimValue } from './text.js';
export { domain, hostOf, url } from './web.js';

import { country } from './country.js';
import { email } from './email.js';
import { naf, siren, siret } from './identifiers.js';
import type { Outcome } from './outcome.js';
import { phone } from './phone.js';
import { domain, url } from './web.js';

/** Every rule by name, for callers (and tests) that go through them as a table. */
export const FIELD_RULES = {
  siren,
  siret,
  naf,
  phone,
  email,
  url,
  domain,
  country,
} as const satisfies Record<string, (raw: string) => Outcome>;
export type FieldRuleName = keyof typeof FIELD_RULES;
