/**
 * The same rules as PostgreSQL expressions, for the CSV import's set-based SQL. Each builder takes
 * a SQL expression (a column) already trimmed and NULL when blank, and yields the stored form, or
 * NULL when the value is refused. The table-driven test (test/sql-parity.test.ts) runs every case
 * through both sides and requires identical answers. Phones have no SQL twin (libphonenumber-js).
 */
import { COUNTRY_CODES, COUNTRY_NAMES } from './country.js';
import { FOLD_FROM, FOLD_TO } from './fold.js';
import {
  DOMAIN,
  DOMAIN_MAX_LENGTH,
  EMAIL,
  EMAIL_MAX_LENGTH,
  HAS_SCHEME,
  HOST_OF,
  IDENTIFIER_SEPARATORS,
  NAF_DIGITS,
  TRIMMED,
  URL,
  URL_MAX_LENGTH,
} from './patterns.js';

/** A SQL string literal (standard_conforming_strings: only quotes are doubled). */
export const sqlLiteral = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** Regex patterns carry `\uXXXX` escapes both dialects read; an E'' literal would not be needed. */
const re = sqlLiteral;

/** Trimmed like `trimValue`, '' → NULL. */
export const sqlPresent = (value: string): string => `nullif(btrim(${value}, ${sqlLiteral(TRIMMED)}), '')`;

/** Separators removed, '' → NULL (`identifierDigits`). */
export const sqlIdentifierDigits = (value: string): string =>
  `nullif(regexp_replace(${value}, ${re(IDENTIFIER_SEPARATORS)}, '', 'g'), '')`;

/**
 * Luhn check of a fixed-length digit string, inlined: app.luhn_valid is a non-inlinable SQL
 * function (SET search_path) that costs ~0.3 ms a call, too slow per imported row.
 */
export const sqlLuhn = (digits: string, length: number): string => {
  const terms: string[] = [];
  for (let i = 1; i <= length; i++) {
    const digit = `substr(${digits}, ${i}, 1)::int`;
    terms.push((length - i) % 2 === 1 ? `(ARRAY[0,2,4,6,8,1,3,5,7,9])[${digit} + 1]` : digit);
  }
  return `(${digits} ~ '^[0-9]{${length}}$' AND (${terms.join(' + ')}) % 10 = 0)`;
};

/** SIREN from a digits expression (`sqlIdentifierDigits`). */
export const sqlSirenOfDigits = (digits: string): string =>
  `CASE WHEN ${sqlLuhn(digits, 9)} THEN ${digits} END`;
export const sqlSiretOfDigits = (digits: string): string =>
  `CASE WHEN ${sqlLuhn(digits, 14)} THEN ${digits} END`;

/** NAF from a digits expression: `6201z` → `62.01Z`. */
export const sqlNafOfDigits = (digits: string): string =>
  `CASE WHEN upper(${digits}) ~ ${re(NAF_DIGITS)} THEN regexp_replace(upper(${digits}), ${re(NAF_DIGITS)}, '\\1.\\2\\3') END`;

/** Lower-cased host without scheme, credentials or `www.`, or NULL (`hostOf`). */
export const sqlHostOf = (value: string): string =>
  `(SELECT h FROM (SELECT lower(substring(${value} from ${re(HOST_OF)})) AS h) AS host
     WHERE length(h) <= ${DOMAIN_MAX_LENGTH} AND h ~ ${re(DOMAIN)})`;

/** `url`: https:// added when no scheme is given; NULL unless an http(s) URL with a real host. */
export const sqlUrl = (value: string): string =>
  `(SELECT u FROM (SELECT CASE WHEN ${value} ~ ${re(HAS_SCHEME)} THEN ${value} ELSE 'https://' || ${value} END AS u) AS url
     WHERE length(u) <= ${URL_MAX_LENGTH} AND u ~ ${re(URL)})`;

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `email`: A–Z lower-cased (`lower()` would also fold U+212A to `k`); NULL unless an address. */
export const sqlEmail = (value: string): string =>
  `(SELECT e FROM (SELECT translate(${value}, '${UPPER}', '${UPPER.toLowerCase()}') AS e) AS email WHERE length(e) <= ${EMAIL_MAX_LENGTH} AND e ~ ${re(EMAIL)})`;

const CODES_JSON = sqlLiteral(JSON.stringify(Object.fromEntries(COUNTRY_CODES.map((c) => [c, true]))));
const NAMES_JSON = sqlLiteral(JSON.stringify(COUNTRY_NAMES));

/** `country`: a known alpha-2 code, else a known English or French name; NULL otherwise. */
export const sqlCountry = (value: string): string =>
  `CASE WHEN ${value} ~ '^[A-Za-z]{2}$' AND ${CODES_JSON}::jsonb ? upper(${value}) THEN upper(${value})
        ELSE ${NAMES_JSON}::jsonb ->> translate(${value}, ${sqlLiteral(FOLD_FROM)}, ${sqlLiteral(FOLD_TO)}) END`;

/**
 * Each rule as one SQL expression over a trimmed, non-blank value, composed from the pieces the
 * import pipeline uses (pipeline-sql.ts). Phones are absent: see phone.ts.
 */
export const SQL_RULES = {
  siren: (value: string) => sqlSirenOfDigits(sqlIdentifierDigits(value)),
  siret: (value: string) => sqlSiretOfDigits(sqlIdentifierDigits(value)),
  naf: (value: string) => sqlNafOfDigits(sqlIdentifierDigits(value)),
  email: sqlEmail,
  url: sqlUrl,
  domain: sqlHostOf,
  country: sqlCountry,
} as const satisfies Record<string, (value: string) => string>;
