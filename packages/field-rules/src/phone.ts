import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { accept, type Outcome, refuse } from './outcome.js';

// Typed 'FR' (checked against libphonenumber-js's CountryCode), not CountryCode: then our
// declarations do not import libphonenumber-js, whose CommonJS declarations require its ES ones
// (TS1479 for a CommonJS consumer on `module: node16` with skipLibCheck off).
/** Numbers written without a country code are read as French ones (`01 23 45 67 89`). */
export const DEFAULT_PHONE_COUNTRY = 'FR' satisfies CountryCode;

/**
 * Any phone to E.164 with libphonenumber-js metadata (length and prefixes per country).
 * There is no SQL twin: the CSV import normalises phones in TypeScript while staging rows.
 */
export function phone(raw: string): Outcome {
  const parsed = parsePhoneNumberFromString(raw, DEFAULT_PHONE_COUNTRY);
  if (!parsed?.isValid()) return refuse('invalid_phone', 'This is not a valid phone number.');
  return accept(parsed.number);
}
