import { type ErrorCode, errorStatus } from '@prospectflow/contracts';

/**
 * A failure of a whole import (not of one row), with a stable snake_case `code` and the HTTP
 * status the code has in contracts (the answer when it happens before the import is accepted).
 */
export class ImportFailure extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImportFailure';
    this.status = errorStatus(code);
  }
}

/**
 * This attempt found the import already finished by an earlier attempt, which was still running
 * when this one was claimed (its worker had lost the lease): nothing to do.
 */
export class ImportAlreadyFinished extends Error {
  constructor(readonly importId: string) {
    super(`import ${importId} was finished by an earlier attempt`);
    this.name = 'ImportAlreadyFinished';
  }
}

/** Stored in crm.imports.error as "code: message"; parsed back for the API. */
export function formatStoredError(code: string, message: string): string {
  return `${code}: ${message}`.slice(0, 2000);
}

export function parseStoredError(value: string | null): { code: string; message: string } | null {
  if (!value) return null;
  const match = /^([a-z][a-z0-9_]*): ([\s\S]*)$/.exec(value);
  return match ? { code: match[1]!, message: match[2]! } : { code: 'import_failed', message: value };
}
