/**
 * Every error this package throws carries a stable, snake_case `code` so services can map it to
 * an HTTP problem (`code` field) without matching on messages.
 */
export abstract class TenantContextError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No organisation in the async context: raised before any connection is checked out. */
export class NoTenantError extends TenantContextError {
  readonly code = 'no_tenant';
  constructor(what = 'this operation') {
    super(`No organisation in context: ${what} must run inside runWithTenant({ organisationId }, …)`);
  }
}

/** An organisation or user id that is not a canonical uuid. */
export class InvalidTenantError extends TenantContextError {
  readonly code = 'invalid_tenant';
}

/** Nesting a unit of work (or a tenant context) for a different organisation. */
export class TenantMismatchError extends TenantContextError {
  readonly code = 'tenant_mismatch';
  constructor(active: string, requested: string) {
    super(
      `A unit of work for organisation ${active} is active; nesting organisation ${requested} inside it is refused`,
    );
  }
}

/** runAsSystem entered from a tenant or request scope, or a system-only helper used outside it. */
export class SystemScopeError extends TenantContextError {
  readonly code = 'system_scope_refused';
}

/** No pooled connection became free in time (pool exhausted, or the database is unreachable). */
export class PoolTimeoutError extends TenantContextError {
  readonly code = 'tenant_pool_timeout';
}

/** Prisma could not start the interactive transaction within `maxWait`, or it outlived `timeout`. */
export class TransactionTimeoutError extends TenantContextError {
  readonly code = 'tenant_transaction_timeout';
}

/** The transaction was already aborted by an earlier error, so COMMIT rolled it back. */
export class TransactionAbortedError extends TenantContextError {
  readonly code = 'tenant_transaction_aborted';
}

/** A query that would break the unit of work (transaction control, named statements, callbacks, use after the end). */
export class UnsafeQueryError extends TenantContextError {
  readonly code = 'tenant_unsafe_query';
}

/** SQLSTATE raised by `app.current_organisation_id()` when the database sees no organisation. */
export const DB_NO_ORGANISATION_SQLSTATE = 'PF001';

/** True when `error` (a pg error, or a Prisma error wrapping one) is the database's own "no organisation" refusal. */
export function isDbNoOrganisationError(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const candidate = current as {
      code?: unknown;
      message?: unknown;
      meta?: { code?: unknown };
      cause?: unknown;
    };
    if (
      candidate.code === DB_NO_ORGANISATION_SQLSTATE ||
      candidate.meta?.code === DB_NO_ORGANISATION_SQLSTATE
    )
      return true;
    if (typeof candidate.message === 'string' && candidate.message.includes(DB_NO_ORGANISATION_SQLSTATE))
      return true;
    current = candidate.cause;
  }
  return false;
}
