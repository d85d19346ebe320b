import { AUTH_ERRORS, type AuthErrorCode, type AuthProblem, problemBody } from '@prospectflow/contracts';

type Status = AuthProblem['status'];
type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/** RFC 6750 `error` attribute of `WWW-Authenticate`, for the codes whose answer carries one. */
const BEARER_ERRORS: Partial<Record<AuthErrorCode, BearerError>> = {
  authorization_header_malformed: 'invalid_request',
  authorization_header_repeated: 'invalid_request',
  token_too_long: 'invalid_token',
  token_malformed: 'invalid_token',
  token_missing_claim: 'invalid_token',
  token_unknown_key: 'invalid_token',
  token_invalid_signature: 'invalid_token',
  token_expired: 'invalid_token',
  token_not_yet_valid: 'invalid_token',
  token_wrong_issuer: 'invalid_token',
  token_wrong_client: 'invalid_token',
  token_wrong_use: 'invalid_token',
  token_invalid: 'invalid_token',
  insufficient_role: 'insufficient_scope',
};

/**
 * An auth failure with a stable `code`. `detail` is safe to show to the caller: it never holds
 * key ids, client ids, issuers or library messages (those go to `cause`, which is only logged).
 */
export class AuthError extends Error {
  readonly status: Status;
  readonly statusCode: Status;
  readonly title: string;
  readonly bearerError: BearerError | undefined;
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
    this.bearerError = BEARER_ERRORS[code];
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
