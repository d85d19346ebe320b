import {
  AUTH_ERRORS,
  type AuthErrorCode,
  type AuthErrorInfo,
  type AuthProblem,
  problemBody,
} from '@prospectflow/contracts';

type Status = AuthProblem['status'];

/**
 * An auth failure with a stable `code`. `detail` is safe to show to the caller: it never holds
 * key ids, client ids, issuers or library messages (those go to `cause`, which is only logged).
 */
export class AuthError extends Error {
  readonly status: Status;
  readonly statusCode: Status;
  readonly title: string;
  /** RFC 6750 `error` attribute of `WWW-Authenticate`, for the codes whose answer carries one. */
  readonly bearerError: AuthErrorInfo['bearer'];
  readonly retryAfterSeconds: number | undefined;

  /** Extra members of the problem body (e.g. `requiredRole`). */
  readonly extensions: Partial<Pick<AuthProblem, 'requiredRole'>>;

  constructor(
    readonly code: AuthErrorCode,
    readonly detail: string,
    options: {
      cause?: unknown;
      retryAfterSeconds?: number;
      extensions?: Partial<Pick<AuthProblem, 'requiredRole'>>;
    } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'AuthError';
    const info = AUTH_ERRORS[code];
    this.status = info.status;
    this.statusCode = info.status;
    this.title = info.title;
    this.bearerError = 'bearer' in info ? info.bearer : undefined;
    this.retryAfterSeconds = info.status === 503 ? (options.retryAfterSeconds ?? 5) : undefined;
    this.extensions = options.extensions ?? {};
  }

  toProblem(instance?: string): AuthProblem {
    return problemBody<AuthProblem>(this, instance);
  }

  /** RFC 6750 §3 challenge; no `error` attribute when the request simply had no credentials. */
  wwwAuthenticate(realm: string): string | undefined {
    if (this.status !== 401 && !this.bearerError) return undefined;
    const parts = [`realm="${realm}"`];
    if (this.bearerError) parts.push(`error="${this.bearerError}"`, `error_description="${this.title}"`);
    return `Bearer ${parts.join(', ')}`;
  }
}

export function isAuthError(error: unknown): error is AuthError {
  return error instanceof AuthError;
}

export function authErrorStatus(code: AuthErrorCode): Status {
  return AUTH_ERRORS[code].status;
}
