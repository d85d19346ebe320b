import { InvalidTenantError } from './errors.js';

// Canonical 8-4-4-4-12 hex form only. The value may be inlined into SQL (see settings.ts), so
// this check is what makes that safe: nothing but [0-9a-f-] can pass.
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && CANONICAL_UUID.test(value.toLowerCase());
}

/** Returns the lower-case canonical uuid or throws InvalidTenantError naming the field. */
export function normaliseUuid(value: unknown, field: string): string {
  if (!isUuid(value)) {
    throw new InvalidTenantError(
      `${field} must be a uuid (8-4-4-4-12 hex), got ${JSON.stringify(value)?.slice(0, 60)}`,
    );
  }
  return value.toLowerCase();
}
