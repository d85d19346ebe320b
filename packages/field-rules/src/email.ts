import { accept, type Outcome, refuse } from './outcome.js';
import { EMAIL, EMAIL_MAX_LENGTH } from './patterns.js';
import { trimValue } from './text.js';

const PATTERN = new RegExp(EMAIL);

const UPPER_ASCII = /[A-Z]+/g;

/**
 * Emails are stored trimmed and lower-cased, so the same address always de-duplicates. Only A–Z
 * are lower-cased: `toLowerCase()` would turn the Kelvin sign (U+212A) into `k` and accept an
 * address the API's case-insensitive `email` format refuses.
 */
export function email(raw: string): Outcome {
  const value = trimValue(raw).replace(UPPER_ASCII, (letters) => letters.toLowerCase());
  if (value.length > EMAIL_MAX_LENGTH || !PATTERN.test(value))
    return refuse('invalid_email', 'This is not an email address.');
  return accept(value);
}

/** The domain part of an address the rule accepted. */
export function emailDomain(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}
