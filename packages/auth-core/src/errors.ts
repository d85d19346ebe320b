import type { AuthErrorCode, AuthProblem } from './contracts.js';

type Status = AuthProblem['status'];

interface CodeInfo {
  status: Status;
  title: string;
  /** RFC 6750 `error` attribute of `WWW-Authenticate`, when the answer carries one. */
  bearerError?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
}

const CODES: Record<AuthErrorCode, CodeInfo> = {
  credentials_missing: { status: 401, title: 'Authentication required' },
  authorization_header_malformed: {
    status: 400,
    title: 'Malformed Authorization header',
    bearerError: 'invalid_request',
  },
  authorization_header_repeated: {
    status: 400,
    title: 'Repeated Authorization header',
    bearerError: 'invalid_request',
  },
  token_too_long: { status: 401, title: 'Token too long', bearerError: 'invalid_token' },
  token_malformed: { status: 401, title: 'Malformed token', bearerError: 'invalid_token' },
  token_missing_claim: { status: 401, title: 'Token lacks a required claim', bearerError: 'invalid_token' },
  token_unknown_key: { status: 401, title: 'Token signed by an unknown key', bearerError: 'invalid_token' },
  token_invalid_signature: { status: 401, title: 'Invalid token signature', bearerError: 'invalid_token' },
  token_expired: { status: 401, title: 'Token expired', bearerError: 'invalid_token' },
  token_not_yet_valid: { status: 401, title: 'Token not yet valid', bearerError: 'invalid_token' },
  token_wrong_issuer: { status: 401, title: 'Token from an unexpected issuer', bearerError: 'invalid_token' },
  token_wrong_client: { status: 401, title: 'Token for another client', bearerError: 'invalid_token' },
  token_wrong_use: { status: 401, title: 'Wrong kind of token', bearerError: 'invalid_token' },
  token_invalid: { status: 401, title: 'Invalid token', bearerError: 'invalid_token' },
  jwks_unavailable: { status: 503, title: 'Signing keys unavailable' },
  session_unavailable: { status: 503, title: 'Session store unavailable' },
  organisation_required: { status: 400, title: 'Organisation required' },
  organisation_id_malformed: { status: 400, title: 'Malformed organisation id' },
  not_a_member: { status: 403, title: 'Not a member of this organisation' },
  membership_suspended: { status: 403, title: 'Membership suspended' },
  organisation_suspended: { status: 403, title: 'Organisation suspended' },
  insufficient_role: { status: 403, title: 'Insufficient role', bearerError: 'insufficient_scope' },
};

/**
 * An auth failure with a stable `code`. `detail` is safe to show to the caller: it never holds
 * key ids, client ids, issuers or library messages (those go to `cause`, which is only logged).
 */
export class AuthError extends Error {
  readonly status: Status;
  readonly statusCode: Status;
  readonly title: string;
  readonly bearerError: CodeInfo['bearerError'];
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: AuthErrorCode,
    readonly detail: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'AuthError';
    const info = CODES[code];
    this.status = info.status;
    this.statusCode = info.status;
    this.title = info.title;
    this.bearerError = info.bearerError;
    this.retryAfterSeconds = info.status === 503 ? (options.retryAfterSeconds ?? 5) : undefined;
  }

  toProblem(instance?: string): AuthProblem {
    return {
      type: `https://docs.prospectflow.dev/problems/${this.code.replaceAll('_', '-')}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      code: this.code,
      ...(instance === undefined ? {} : { instance }),
    };
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
  return CODES[code].status;
}
