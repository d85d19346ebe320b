import { accept, type Outcome, refuse } from './outcome.js';
import { EMAIL, EMAIL_MAX_LENGTH } from './patterns.js';
import { trimValue } from './text.js';

const PATTERN = new RegExp(EMAIL);

/** Emails are stored trimmed and lower-cased, so the same address always de-duplicates. */
export function email(raw: string): Outcome {
  const value = trimValue(raw).toLowerCase();
  if (value.length > EMAIL_MAX_LENGTH || !PATTERN.test(value))
    return refuse('invalid_email', 'This is not an email address.');
  return accept(value);
}

/** The domain part of an address the rule accepted. */
export function emailDomain(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}
