import { ProblemError } from './problem.js';

/** A node-postgres server error (has a five-character SQLSTATE). */
export interface PgError extends Error {
  code: string;
  constraint?: string;
  table?: string;
  schema?: string;
  column?: string;
  detail?: string;
}

export function isPgError(error: unknown): error is PgError {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'string' &&
    /^[0-9A-Z]{5}$/.test((error as unknown as { code: string }).code) &&
    'severity' in error
  );
}

export function isUniqueViolation(error: unknown, constraint?: string): error is PgError {
  return isPgError(error) && error.code === '23505' && (!constraint || error.constraint === constraint);
}

/**
 * A delete (or key change) refused because other rows still refer to the row: 23503 up to
 * PostgreSQL 17, 23001 `restrict_violation` from 18 for an ON DELETE RESTRICT foreign key.
 */
export function isStillReferenced(error: unknown): error is PgError {
  return isPgError(error) && (error.code === '23001' || error.code === '23503');
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE']);

/**
 * Maps database errors a request can legitimately cause to problems. Constraint names go to the
 * body (they are part of our public schema) but never the server's message, which may quote data.
 * Returns undefined for errors that are our bugs (they become 500s).
 */
export function problemFromDatabaseError(error: unknown): ProblemError | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && CONNECTION_ERRORS.has(code)) {
    return new ProblemError(503, 'database_unavailable', 'The database is unreachable; retry shortly.', {
      headers: { 'retry-after': '5' },
      cause: error,
    });
  }
  if (!isPgError(error)) return undefined;
  // What a constraint's refusal carries: its name (an extension) and the cause.
  const refusal = {
    ...(error.constraint ? { extensions: { constraint: error.constraint } } : {}),
    cause: error,
  };
  switch (error.code) {
    case '23505':
      return new ProblemError(
        409,
        'unique_violation',
        'A record with the same unique value already exists.',
        refusal,
      );
    case '23503':
      return new ProblemError(422, 'invalid_reference', 'A referenced record does not exist.', refusal);
    case '23001':
      return new ProblemError(
        422,
        'record_in_use',
        'Other records refer to this one: change or remove them first.',
        refusal,
      );
    case '23514':
    case '23502':
    case '23P01':
      return new ProblemError(
        422,
        'constraint_violation',
        'A value breaks a data rule of this record.',
        refusal,
      );
    case '22P02':
    // NUL (U+0000) in a text parameter (22021) or in a JSON string (22P05): text PostgreSQL cannot hold.
    case '22021':
    case '22P05':
    case '22001':
    case '22003':
    case '22007':
    case '22008':
    case '22023':
      return new ProblemError(400, 'invalid_value', 'A value has the wrong format or is out of range.', {
        cause: error,
      });
    case '57014':
      return new ProblemError(
        503,
        'database_timeout',
        'The database took too long to answer; retry shortly.',
        {
          headers: { 'retry-after': '5' },
          cause: error,
        },
      );
    case '40001':
    case '40P01':
      return new ProblemError(503, 'database_conflict', 'Concurrent changes collided; retry the request.', {
        headers: { 'retry-after': '1' },
        cause: error,
      });
    case '53300':
    case '57P01':
    case '57P03':
      return new ProblemError(503, 'database_unavailable', 'The database is unavailable; retry shortly.', {
        headers: { 'retry-after': '5' },
        cause: error,
      });
    default:
      if (error.code.startsWith('08')) {
        return new ProblemError(503, 'database_unavailable', 'The database is unreachable; retry shortly.', {
          headers: { 'retry-after': '5' },
          cause: error,
        });
      }
      return undefined;
  }
}
