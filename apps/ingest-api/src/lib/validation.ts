import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { ProblemError } from './problem.js';

/**
 * Checks the schema cannot express (check digits, normal forms). Each helper returns the
 * normalised value or records an error; `throwIfAny()` answers 422 with every problem at once.
 */
export interface FieldIssue {
  path: string;
  code: string;
  message: string;
}

export class FieldErrors {
  readonly issues: FieldIssue[] = [];

  add(field: string, code: string, message: string): undefined {
    this.issues.push({ path: `/${field}`, code, message });
    return undefined;
  }

  throwIfAny(): void {
    if (this.issues.length === 0) return;
    const first = this.issues[0]!;
    throw new ProblemError(422, first.code, first.message, { extensions: { errors: this.issues } });
  }
}

/** Luhn check, used by SIREN and SIRET. */
export function luhnValid(digits: string): boolean {
  if (!/^[0-9]+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

const SEPARATORS = /[\s.\u00a0-]/g;

export function isValidSiren(value: string): boolean {
  return /^[0-9]{9}$/.test(value) && luhnValid(value);
}

export function normaliseSiren(value: string, errors: FieldErrors, field = 'siren'): string | undefined {
  const digits = value.replace(SEPARATORS, '');
  if (!/^[0-9]{9}$/.test(digits)) return errors.add(field, 'invalid_siren', 'A SIREN has exactly 9 digits.');
  if (!luhnValid(digits)) return errors.add(field, 'invalid_siren', 'This SIREN fails its check digit.');
  return digits;
}

export function normaliseSiret(value: string, errors: FieldErrors, field = 'siret'): string | undefined {
  const digits = value.replace(SEPARATORS, '');
  if (!/^[0-9]{14}$/.test(digits))
    return errors.add(field, 'invalid_siret', 'A SIRET has exactly 14 digits.');
  if (!luhnValid(digits)) return errors.add(field, 'invalid_siret', 'This SIRET fails its check digit.');
  return digits;
}

/** NAF/APE code, `62.01Z` (also accepted as `6201Z` or lower case). */
export function normaliseNaf(value: string, errors: FieldErrors, field = 'nafCode'): string | undefined {
  const match = /^([0-9]{2})\.?([0-9]{2})([A-Za-z])$/.exec(value.trim());
  if (!match) return errors.add(field, 'invalid_naf', 'A NAF code looks like 62.01Z.');
  return `${match[1]}.${match[2]}${match[3]!.toUpperCase()}`;
}

/** Any phone, French numbers without a country code included, to E.164. */
export function normalisePhone(value: string, errors: FieldErrors, field = 'phone'): string | undefined {
  const parsed = parsePhoneNumberFromString(value, 'FR');
  if (!parsed?.isValid()) return errors.add(field, 'invalid_phone', 'This is not a valid phone number.');
  return parsed.number;
}

/** http(s) URL with a real host; `acme.fr` is read as `https://acme.fr`. */
export function normaliseUrl(value: string, errors: FieldErrors, field: string): string | undefined {
  const raw = value.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(raw) ? raw : `https://${raw}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    return errors.add(field, 'invalid_url', 'This is not a URL.');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return errors.add(field, 'invalid_url', 'Only http and https URLs are accepted.');
  }
  if (!parsed.hostname.includes('.') || parsed.username || parsed.password) {
    return errors.add(field, 'invalid_url', 'The URL needs a public host name and no credentials.');
  }
  return parsed.toString();
}

const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

export function normaliseDomain(value: string, errors: FieldErrors, field = 'domain'): string | undefined {
  const domain = value
    .trim()
    .toLowerCase()
    .replace(/^https?:\/\//, '')
    .replace(/\/.*$/, '')
    .replace(/^www\./, '');
  if (!DOMAIN.test(domain) || domain.length > 253) {
    return errors.add(field, 'invalid_domain', 'This is not a domain name (e.g. acme.fr).');
  }
  return domain;
}

/** The registrable-looking host of a website, used as the company domain when none is given. */
export function domainOfUrl(url: string): string | undefined {
  try {
    const host = new URL(url).hostname.toLowerCase().replace(/^www\./, '');
    return DOMAIN.test(host) ? host : undefined;
  } catch {
    return undefined;
  }
}

export function normaliseEmail(value: string): string {
  return value.trim().toLowerCase();
}
