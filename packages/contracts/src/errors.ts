import type { Role } from './roles.js';

/**
 * The stable `code` of every problem+json body the platform answers with, and its HTTP status.
 * Clients switch on `code`; `title` and `detail` are for people.
 */
export interface ErrorInfo {
  readonly status: number;
  readonly title: string;
}

/** An auth failure's entry: also the RFC 6750 `error` of its `WWW-Authenticate` challenge, if any. */
export interface AuthErrorInfo extends ErrorInfo {
  readonly bearer?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
}

/**
 * Authentication and organisation-scope failures (answered by auth-core): the credentials, missing,
 * malformed or refused (sign in again); what checking them depends on (503: retry later); the
 * organisation the request names and the caller's place in it.
 */
export const AUTH_ERRORS = {
  credentials_missing: { status: 401, title: 'Authentication required' },
  authorization_header_malformed: {
    status: 400,
    title: 'Malformed Authorization header',
    bearer: 'invalid_request',
  },
  authorization_header_repeated: {
    status: 400,
    title: 'Repeated Authorization header',
    bearer: 'invalid_request',
  },
  token_too_long: { status: 401, title: 'Token too long', bearer: 'invalid_token' },
  token_malformed: { status: 401, title: 'Malformed token', bearer: 'invalid_token' },
  token_missing_claim: { status: 401, title: 'Token lacks a required claim', bearer: 'invalid_token' },
  token_unknown_key: { status: 401, title: 'Token signed by an unknown key', bearer: 'invalid_token' },
  token_invalid_signature: { status: 401, title: 'Invalid token signature', bearer: 'invalid_token' },
  token_expired: { status: 401, title: 'Token expired', bearer: 'invalid_token' },
  token_not_yet_valid: { status: 401, title: 'Token not yet valid', bearer: 'invalid_token' },
  token_wrong_issuer: { status: 401, title: 'Token from an unexpected issuer', bearer: 'invalid_token' },
  token_wrong_client: { status: 401, title: 'Token for another client', bearer: 'invalid_token' },
  token_wrong_use: { status: 401, title: 'Wrong kind of token', bearer: 'invalid_token' },
  token_invalid: { status: 401, title: 'Invalid token', bearer: 'invalid_token' },
  jwks_unavailable: { status: 503, title: 'Signing keys unavailable' },
  session_unavailable: { status: 503, title: 'Session store unavailable' },
  organisation_required: { status: 400, title: 'Organisation required' },
  organisation_id_malformed: { status: 400, title: 'Malformed organisation id' },
  not_a_member: { status: 403, title: 'Not a member of this organisation' },
  membership_suspended: { status: 403, title: 'Membership suspended' },
  organisation_suspended: { status: 403, title: 'Organisation suspended' },
  insufficient_role: { status: 403, title: 'Insufficient role', bearer: 'insufficient_scope' },
} as const satisfies Record<string, AuthErrorInfo>;

/** Failures any API route can answer with, whatever its resource. */
export const REQUEST_ERRORS = {
  // The request itself: retrying it unchanged fails again.
  bad_request: { status: 400, title: 'Bad request' },
  validation_failed: { status: 400, title: 'Validation failed' },
  malformed_json: { status: 400, title: 'Malformed JSON body' },
  empty_body: { status: 400, title: 'Empty body' },
  invalid_content_length: { status: 400, title: 'Invalid Content-Length' },
  bad_url: { status: 400, title: 'Bad URL' },
  invalid_value: { status: 400, title: 'Invalid value' },
  invalid_cursor: { status: 400, title: 'Invalid cursor' },
  // What it names: missing, or in conflict with what exists.
  not_found: { status: 404, title: 'Not found' },
  route_not_found: { status: 404, title: 'Route not found' },
  unique_violation: { status: 409, title: 'Conflict' },
  // Its body: too large, or of a type the route does not read.
  body_too_large: { status: 413, title: 'Body too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  // Data it would write that breaks a rule of the model.
  invalid_reference: { status: 422, title: 'Unknown referenced record' },
  constraint_violation: { status: 422, title: 'Data rule broken' },
  // Too many requests: retry after `retry-after` seconds.
  rate_limited: { status: 429, title: 'Too many requests' },
  // The platform's side: retry later; `instance` identifies the request.
  internal_error: { status: 500, title: 'Internal server error' },
  database_unavailable: { status: 503, title: 'Database unavailable' },
  database_timeout: { status: 503, title: 'Database timeout' },
  database_conflict: { status: 503, title: 'Concurrent change' },
} as const satisfies Record<string, ErrorInfo>;

/**
 * A resource's own 404: the code names what was not found (another organisation's record is
 * not found either, never disclosed), so a client knows which id of its request was unknown.
 */
export const RESOURCE_ERRORS = {
  company_not_found: { status: 404, title: 'Company not found' },
  person_not_found: { status: 404, title: 'Person not found' },
  position_not_found: { status: 404, title: 'Position not found' },
} as const satisfies Record<string, ErrorInfo>;

/** The HMAC-signed inbound mail webhook's refusals (`POST /v1/inbound`, called by the mail provider). */
export const WEBHOOK_ERRORS = {
  invalid_signature: { status: 401, title: 'Webhook signature missing, malformed or not matching' },
  stale_signature: { status: 401, title: 'Webhook timestamp more than 300 s from now' },
  inbound_not_configured: { status: 503, title: 'Inbound webhook secret not configured' },
} as const satisfies Record<string, ErrorInfo>;

export const ERRORS = { ...AUTH_ERRORS, ...REQUEST_ERRORS, ...RESOURCE_ERRORS, ...WEBHOOK_ERRORS } as const;

export type AuthErrorCode = keyof typeof AUTH_ERRORS;
export type RequestErrorCode = keyof typeof REQUEST_ERRORS;
export type ResourceErrorCode = keyof typeof RESOURCE_ERRORS;
export type WebhookErrorCode = keyof typeof WEBHOOK_ERRORS;
export type ErrorCode = keyof typeof ERRORS;

/** The auth codes as a list (e.g. to switch on them in a client). */
export const AUTH_ERROR_CODES = Object.keys(AUTH_ERRORS) as AuthErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/** HTTP status a code is answered with. */
export function errorStatus<C extends ErrorCode>(code: C): (typeof ERRORS)[C]['status'] {
  return ERRORS[code].status;
}

/** RFC 9457 problem details: the body of every error answer (`application/problem+json`). */
export interface Problem<Code extends string = string> {
  /** URI of the problem type: `problemType(code)`. */
  type: string;
  title: string;
  status: number;
  detail: string;
  /** Stable snake_case code; see ERRORS for the platform-wide ones. */
  code: Code;
  /** The request id (also in the `x-request-id` response header). */
  instance?: string;
  /** Extension members, e.g. `errors` on validation_failed, `existingId` on a conflict. */
  [extension: string]: unknown;
}

/** RFC 9457 body of an auth failure. */
export interface AuthProblem extends Problem<AuthErrorCode> {
  status: (typeof AUTH_ERRORS)[AuthErrorCode]['status'];
  /** On `insufficient_role`: the lowest role the route accepts. */
  requiredRole?: Role;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The `type` URI of a code: one documentation root for every problem. */
export function problemType(code: string): string {
  return `https://docs.prospectflow.dev/problems/${code.replaceAll('_', '-')}`;
}

/**
 * The body of an error answer. Extensions come first so none can replace a standard member;
 * `instance` (the request id) only when known.
 */
export function problemBody<P extends Problem>(
  error: Pick<P, 'code' | 'title' | 'status' | 'detail'> & { extensions?: Record<string, unknown> },
  instance?: string,
): P {
  return {
    ...error.extensions,
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    ...(instance === undefined ? {} : { instance }),
  } as P;
}
