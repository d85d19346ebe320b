import type { ErrorCodeWithStatus } from '@prospectflow/contracts';
import {
  country,
  domain,
  email,
  hostOf,
  naf,
  type Outcome,
  phone,
  presentValue,
  siren,
  siret,
  siretMatchesSiren,
  url,
} from '@prospectflow/field-rules';
import { ProblemError } from './problem.js';

/**
 * The API's side of @prospectflow/field-rules (the one definition of each field rule): each
 * helper returns the stored form or records the rule's refusal; `throwIfAny()` answers 422 with
 * every problem at once.
 */
export interface FieldIssue {
  path: string;
  /** A field rule's refusal or a rule across fields; the first one is the answer's `code`. */
  code: ErrorCodeWithStatus<422>;
  message: string;
}

export class FieldErrors {
  readonly issues: FieldIssue[] = [];

  add(field: string, code: ErrorCodeWithStatus<422>, message: string): undefined {
    this.issues.push({ path: `/${field}`, code, message });
    return undefined;
  }

  /** The stored value, or undefined with the refusal recorded against `field`. */
  take(outcome: Outcome, field: string): string | undefined {
    return outcome.ok ? outcome.value : this.add(field, outcome.code, outcome.message);
  }

  throwIfAny(): void {
    if (this.issues.length === 0) return;
    const first = this.issues[0]!;
    throw new ProblemError(422, first.code, first.message, { extensions: { errors: this.issues } });
  }
}

/**
 * Text fields as the imports read a cell (`presentValue`): trimmed of what the rules trim, and
 * null when blank (no value), into `out`. The rules then see the trimmed value; plain text fields
 * (a Pharow id, a city) are stored as an import stores them, so keys like Pharow ids match.
 */
export function presentFields(
  input: Record<string, unknown>,
  out: Record<string, unknown>,
  fields: readonly string[],
) {
  for (const field of fields) {
    const value = input[field];
    if (typeof value === 'string') out[field] = presentValue(value);
  }
}

/**
 * The rule across SIREN and SIRET: a SIRET names its company's SIREN (its first 9 digits). Checked
 * on a create's values and, as a PATCH may change one of the two, on the row as written.
 */
export function checkSiretOfSiren(values: Record<string, unknown>, errors: FieldErrors): void {
  const { siren, siret } = values;
  if (typeof siren === 'string' && typeof siret === 'string' && !siretMatchesSiren(siret, siren))
    errors.add('siret', 'siret_siren_mismatch', 'A SIRET starts with its company SIREN.');
}

/** True for a SIREN already in its stored form (query filters). */
export function isValidSiren(value: string): boolean {
  const outcome = siren(value);
  return outcome.ok && outcome.value === value;
}

/** An address in its stored form for query filters, or undefined when it is not one. */
export function storedEmail(value: string): string | undefined {
  const outcome = email(value);
  return outcome.ok ? outcome.value : undefined;
}

export const normaliseSiren = (value: string, errors: FieldErrors, field = 'siren') =>
  errors.take(siren(value), field);
export const normaliseSiret = (value: string, errors: FieldErrors, field = 'siret') =>
  errors.take(siret(value), field);
export const normaliseNaf = (value: string, errors: FieldErrors, field = 'nafCode') =>
  errors.take(naf(value), field);
export const normalisePhone = (value: string, errors: FieldErrors, field = 'phone') =>
  errors.take(phone(value), field);
export const normaliseUrl = (value: string, errors: FieldErrors, field: string) =>
  errors.take(url(value), field);
export const normaliseDomain = (value: string, errors: FieldErrors, field = 'domain') =>
  errors.take(domain(value), field);
export const normaliseCountry = (value: string, errors: FieldErrors, field = 'countryCode') =>
  errors.take(country(value), field);
export const normaliseEmail = (value: string, errors: FieldErrors, field = 'email') =>
  errors.take(email(value), field);

/** The company domain a website implies, when none is given. */
export const domainOfUrl = (websiteUrl: string): string | undefined => hostOf(websiteUrl);
