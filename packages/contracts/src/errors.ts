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
  record_in_use: { status: 422, title: 'Record still referenced' },
  // Too many requests: retry after `retry-after` seconds.
  rate_limited: { status: 429, title: 'Too many requests' },
  // The platform's side: retry later; `instance` identifies the request.
  internal_error: { status: 500, title: 'Internal server error' },
  database_unavailable: { status: 503, title: 'Database unavailable' },
  database_timeout: { status: 503, title: 'Database timeout' },
  database_conflict: { status: 503, title: 'Concurrent change' },
  not_ready: { status: 503, title: 'Not ready' },
  secrets_not_configured: { status: 503, title: 'Secret store not configured' },
  secrets_key_unavailable: { status: 503, title: 'Secret key unavailable' },
} as const satisfies Record<string, ErrorInfo>;

/**
 * A resource's own 404: the code names what was not found (another organisation's record is
 * not found either, never disclosed), so a client knows which id of its request was unknown.
 */
export const RESOURCE_ERRORS = {
  company_not_found: { status: 404, title: 'Company not found' },
  person_not_found: { status: 404, title: 'Person not found' },
  position_not_found: { status: 404, title: 'Position not found' },
  member_not_found: { status: 404, title: 'Member not found' },
  invitation_not_found: { status: 404, title: 'Invitation not found' },
  erasure_request_not_found: { status: 404, title: 'Erasure request not found' },
  import_not_found: { status: 404, title: 'Import not found' },
} as const satisfies Record<string, ErrorInfo>;

/** Organisations, their members and invitations. */
export const IDENTITY_ERRORS = {
  organisation_mismatch: { status: 400, title: 'Path and header name different organisations' },
  email_not_verified: { status: 403, title: 'Email not verified' },
  slug_taken: { status: 409, title: 'Slug taken' },
  last_owner: { status: 409, title: 'Last owner' },
  already_a_member: { status: 409, title: 'Already a member' },
  invitation_conflict: { status: 409, title: 'Invitation already pending' },
  invitation_not_pending: { status: 409, title: 'Invitation not pending' },
  invitation_already_accepted: { status: 409, title: 'Invitation already accepted' },
  invitation_revoked: { status: 410, title: 'Invitation revoked' },
  invitation_expired: { status: 410, title: 'Invitation expired' },
} as const satisfies Record<string, ErrorInfo>;

/**
 * Companies, people and positions: a field refused by its rule (the one field-rules module: the
 * same codes in an import's row errors), a unique value already held, a person brought back.
 */
export const RECORD_ERRORS = {
  invalid_siren: { status: 422, title: 'Invalid SIREN' },
  invalid_siret: { status: 422, title: 'Invalid SIRET' },
  invalid_naf: { status: 422, title: 'Invalid NAF code' },
  invalid_phone: { status: 422, title: 'Invalid phone number' },
  invalid_email: { status: 422, title: 'Invalid email address' },
  invalid_url: { status: 422, title: 'Invalid URL' },
  invalid_domain: { status: 422, title: 'Invalid domain' },
  invalid_country: { status: 422, title: 'Invalid country' },
  siret_siren_mismatch: { status: 422, title: 'SIRET of another SIREN' },
  name_required: { status: 422, title: 'Name required' },
  unknown_person: { status: 422, title: 'Unknown person' },
  unknown_company: { status: 422, title: 'Unknown company' },
  too_many_positions: { status: 422, title: 'Too many positions' },
  subject_erased: { status: 422, title: 'Person erased or objecting' },
  company_siren_taken: { status: 409, title: 'SIREN taken' },
  company_pharow_id_taken: { status: 409, title: 'Pharow company id taken' },
  person_pharow_id_taken: { status: 409, title: 'Pharow person id taken' },
  position_email_taken: { status: 409, title: 'Email taken' },
} as const satisfies Record<string, ErrorInfo>;

/** Imports: the upload, its file and mapping, idempotency, undo. */
export const IMPORT_ERRORS = {
  body_required: { status: 400, title: 'Body required' },
  file_required: { status: 400, title: 'File part required' },
  unexpected_file: { status: 400, title: 'Unexpected file part' },
  malformed_multipart: { status: 400, title: 'Malformed multipart body' },
  idempotency_key_in_use: { status: 409, title: 'Idempotency key in use' },
  idempotency_key_reused: { status: 422, title: 'Idempotency key reused with another body' },
  too_many_rows: { status: 413, title: 'Too many rows' },
  unsupported_file: { status: 415, title: 'Not a text file' },
  empty_file: { status: 422, title: 'Empty file' },
  invalid_encoding: { status: 422, title: 'Not UTF-8' },
  invalid_mapping: { status: 422, title: 'Invalid mapping' },
  no_usable_columns: { status: 422, title: 'No usable columns' },
  record_too_large: { status: 422, title: 'Record too large' },
  import_not_finished: { status: 409, title: 'Import not finished' },
  import_already_undone: { status: 409, title: 'Import already undone' },
  import_failed: { status: 409, title: 'Import failed' },
  import_undo_conflicts: { status: 409, title: 'Undo conflicts' },
  storage_unavailable: { status: 503, title: 'Upload storage unavailable' },
} as const satisfies Record<string, ErrorInfo>;

/** Campaigns, mailboxes (their connection, OAuth consent, verification) and sending domains. */
export const OUTREACH_ERRORS = {
  positions_or_filter: { status: 422, title: 'Positions or filter' },
  invalid_campaign_steps: { status: 422, title: 'Invalid campaign steps' },
  unknown_template_variable: { status: 422, title: 'Unknown template variable' },
  campaign_has_no_mailbox: { status: 422, title: 'Campaign has no mailbox' },
  campaign_not_draft: { status: 409, title: 'Campaign not a draft' },
  campaign_active: { status: 409, title: 'Campaign active' },
  campaign_closed: { status: 409, title: 'Campaign closed' },
  invalid_time_zone: { status: 422, title: 'Invalid time zone' },
  mailbox_connection_incomplete: { status: 422, title: 'Mailbox connection incomplete' },
  mailbox_host_refused: { status: 422, title: 'Mailbox host refused' },
  mailbox_plaintext_refused: { status: 422, title: 'Unencrypted connection refused' },
  mailbox_secrets_unreadable: { status: 422, title: 'Stored secrets unreadable' },
  secret_required_for_host_change: { status: 422, title: 'Secret required for host change' },
  relay_takes_no_servers: { status: 422, title: 'Relay mailbox takes no servers' },
  mailbox_unverified: { status: 422, title: 'Mailbox not verified' },
  mailbox_in_error: { status: 422, title: 'Mailbox in error' },
  mailbox_in_use: { status: 422, title: 'Mailbox in use' },
  mailbox_address_taken: { status: 409, title: 'Mailbox address taken' },
  mailbox_changed_concurrently: { status: 409, title: 'Mailbox changed concurrently' },
  oauth_state_invalid: { status: 422, title: 'OAuth state invalid' },
  oauth_code_refused: { status: 422, title: 'OAuth code refused' },
  oauth_address_mismatch: { status: 422, title: 'OAuth account mismatch' },
  oauth_provider_mismatch: { status: 422, title: 'OAuth provider mismatch' },
  oauth_reconnect_settings: { status: 422, title: 'Reconnect takes no settings' },
  oauth_provider_unavailable: { status: 502, title: 'OAuth provider unavailable' },
  oauth_not_configured: { status: 503, title: 'OAuth not configured' },
  oauth_unavailable: { status: 503, title: 'OAuth consent store unavailable' },
  domain_exists: { status: 409, title: 'Domain already added' },
  domain_not_proved: { status: 422, title: 'Domain not proved' },
} as const satisfies Record<string, ErrorInfo>;

/** The HMAC-signed inbound mail webhook's refusals (`POST /v1/inbound`, called by the mail provider). */
export const WEBHOOK_ERRORS = {
  invalid_json: { status: 400, title: 'Malformed JSON body' },
  invalid_signature: { status: 401, title: 'Webhook signature missing, malformed or not matching' },
  stale_signature: { status: 401, title: 'Webhook timestamp more than 300 s from now' },
  inbound_not_configured: { status: 503, title: 'Inbound webhook secret not configured' },
} as const satisfies Record<string, ErrorInfo>;

export const ERRORS = {
  ...AUTH_ERRORS,
  ...REQUEST_ERRORS,
  ...RESOURCE_ERRORS,
  ...IDENTITY_ERRORS,
  ...RECORD_ERRORS,
  ...IMPORT_ERRORS,
  ...OUTREACH_ERRORS,
  ...WEBHOOK_ERRORS,
} as const;

export type AuthErrorCode = keyof typeof AUTH_ERRORS;
export type RequestErrorCode = keyof typeof REQUEST_ERRORS;
export type ResourceErrorCode = keyof typeof RESOURCE_ERRORS;
export type WebhookErrorCode = keyof typeof WEBHOOK_ERRORS;
export type ErrorCode = keyof typeof ERRORS;
/** The codes answered with `status` (e.g. `ErrorCodeWithStatus<404>`). */
export type ErrorCodeWithStatus<S extends number> = {
  [C in ErrorCode]: (typeof ERRORS)[C]['status'] extends S ? C : never;
}[ErrorCode];

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
