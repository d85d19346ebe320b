import { accept, type Outcome, refuse } from './outcome.js';
import { IDENTIFIER_SEPARATORS, NAF_DIGITS } from './patterns.js';
import { trimValue } from './text.js';

const SEPARATORS = new RegExp(IDENTIFIER_SEPARATORS, 'g');

/** Luhn check digit, the one SIREN and SIRET carry. */
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

/** Digits of an identifier typed with separators (`552 100 554`, `552.100.554`), trimmed like every value. */
export function identifierDigits(raw: string): string {
  return trimValue(raw).replace(SEPARATORS, '');
}

/** SIREN: 9 digits with a Luhn check digit. */
export function siren(raw: string): Outcome {
  const digits = identifierDigits(raw);
  if (!/^[0-9]{9}$/.test(digits)) return refuse('invalid_siren', 'A SIREN has exactly 9 digits.');
  if (!luhnValid(digits)) return refuse('invalid_siren', 'This SIREN fails its check digit.');
  return accept(digits);
}

/** SIRET: 14 digits with a Luhn check digit (its first 9 are the company's SIREN). */
export function siret(raw: string): Outcome {
  const digits = identifierDigits(raw);
  if (!/^[0-9]{14}$/.test(digits)) return refuse('invalid_siret', 'A SIRET has exactly 14 digits.');
  if (!luhnValid(digits)) return refuse('invalid_siret', 'This SIRET fails its check digit.');
  return accept(digits);
}

/** True when a SIRET belongs to the SIREN (both already normalised). */
export function siretMatchesSiren(siretValue: string, sirenValue: string): boolean {
  return siretValue.startsWith(sirenValue);
}

/**
 * The company SIREN a SIRET names (its first 9 digits), or null when they are not a valid SIREN
 * (the SIRET's own check digit does not cover them). Every door that is given a SIRET without a
 * SIREN stores this one, so the company de-duplicates by SIREN whichever door it came through.
 */
export function sirenOfSiret(siretValue: string): string | null {
  const outcome = siren(siretValue.slice(0, 9));
  return outcome.ok ? outcome.value : null;
}

const NAF = new RegExp(NAF_DIGITS);

/** NAF/APE code, stored as `62.01Z` (also typed `6201Z`, `62 01 z`, `62-01Z`). */
export function naf(raw: string): Outcome {
  const match = NAF.exec(identifierDigits(raw).toUpperCase());
  if (!match) return refuse('invalid_naf', 'A NAF code looks like 62.01Z.');
  return accept(`${match[1]}.${match[2]}${match[3]}`);
}
