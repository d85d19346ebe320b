import { ERRORS, type ErrorCode } from '@prospectflow/contracts';
import { PROBLEM_CONTENT_TYPE } from '../problem.js';

/**
 * Problem answers a route gives that the rules below cannot infer from what the route is, by
 * status: the codes (contracts' ERRORS, each with that status) it answers with. A resource's own
 * 404 (`company_not_found`) replaces the generic `not_found`; a route authenticated some other
 * way (the HMAC-signed inbound webhook) declares its 401 and 503 here.
 */
export type RouteProblems = Readonly<Partial<Record<number, readonly ErrorCode[]>>>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's own problem codes by status, for the API document (lib/openapi/errors.ts). */
    problems?: RouteProblems;
  }
}

/**
 * The problem+json answers a route can give, declared in the document from what the route is
 * (public or not, organisation-scoped, with a body or path parameters, rate limited) instead of
 * by hand on every route: one rule per status, next to the code that answers it.
 */
export interface RouteFacts {
  method: string;
  url: string;
  /** Needs a bearer token. */
  authenticated: boolean;
  /** Needs x-organisation-id and a role. */
  organisation: boolean;
  rateLimited: boolean;
  /** Has query, header, path or body schemas (validation_failed). */
  validated: boolean;
  /** Its own problem codes by status (`config.problems`). */
  problems?: RouteProblems | undefined;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

const retryAfter = {
  'retry-after': { type: 'integer', description: 'Seconds to wait before retrying' },
};
const rateLimitHeaders = {
  ...retryAfter,
  'x-ratelimit-limit': { type: 'integer', description: 'Requests allowed per window' },
  'x-ratelimit-remaining': { type: 'integer', description: 'Requests left in this window' },
  'x-ratelimit-reset': { type: 'integer', description: 'Seconds until the window resets' },
};

interface ErrorRule {
  status: number;
  /** Its name under components/responses. */
  name: string;
  applies: (route: RouteFacts) => boolean;
  description: string;
  /** What follows the codes when a route names its own (`config.problems`). */
  detail?: string;
  headers?: Record<string, object>;
}

const RULES: ErrorRule[] = [
  {
    status: 400,
    name: 'BadRequest',
    applies: (r) => r.validated || r.authenticated,
    description:
      'Bad request: `validation_failed` (with `errors[]`: `in`, `path`, `message` for every problem), `malformed_json`, ' +
      '`empty_body`, `invalid_value`, `invalid_cursor`, or a malformed `Authorization` / `x-organisation-id` header.',
  },
  {
    status: 401,
    name: 'Unauthorized',
    applies: (r) => r.authenticated,
    description:
      'No valid bearer token: `credentials_missing` or a `token_*` code (expired, wrong issuer…). `WWW-Authenticate` names the realm.',
    headers: { 'www-authenticate': { type: 'string' } },
  },
  {
    status: 403,
    name: 'Forbidden',
    applies: (r) => r.organisation,
    description:
      '`not_a_member`, `membership_suspended`, `organisation_suspended`, or `insufficient_role` with `requiredRole`.',
  },
  {
    status: 404,
    name: 'NotFound',
    applies: (r) => /[:{]/.test(r.url),
    description:
      '`not_found`: nothing with this id in this organisation (other organisations are never disclosed).',
    detail: 'nothing with this id in this organisation (other organisations are never disclosed).',
  },
  {
    status: 409,
    name: 'Conflict',
    applies: (r) => r.authenticated && WRITES.has(r.method),
    description:
      'Conflict: `unique_violation` or a state conflict; `existingId` names the record holding a unique value.',
  },
  {
    status: 413,
    name: 'PayloadTooLarge',
    applies: (r) => WITH_BODY.has(r.method),
    description: '`body_too_large`: the body is over the limit.',
  },
  {
    status: 415,
    name: 'UnsupportedMediaType',
    applies: (r) => WITH_BODY.has(r.method),
    description: '`unsupported_media_type`: the Content-Type is not accepted here.',
  },
  {
    status: 422,
    name: 'UnprocessableContent',
    applies: (r) => r.authenticated && WRITES.has(r.method),
    description:
      'Valid JSON breaking a rule of the resource: `constraint_violation`, `invalid_reference` or a resource code, listing every problem.',
  },
  {
    status: 429,
    name: 'TooManyRequests',
    applies: (r) => r.rateLimited,
    description: '`rate_limited`: too many requests for this user and organisation (per IP when anonymous).',
    headers: rateLimitHeaders,
  },
  {
    status: 500,
    name: 'InternalError',
    applies: () => true,
    description: '`internal_error`: logged with the request id (`instance`, `x-request-id`).',
  },
  {
    status: 503,
    name: 'ServiceUnavailable',
    applies: (r) => r.authenticated || r.url === '/ready',
    description:
      'Temporarily unavailable: `database_unavailable`, `database_timeout`, `session_unavailable`, `jwks_unavailable`, `storage_unavailable` (imports)… Retry after `Retry-After` seconds.',
    headers: retryAfter,
  },
];

/** A problem+json response of the document (`schema` is the Problem component's $ref). */
export function problemResponse(description: string, schema: object, headers?: Record<string, object>) {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { [PROBLEM_CONTENT_TYPE]: { schema } },
  };
}

/** Names under components/responses of the responses built for routes' own codes, by status and description. */
const OWN_NAMES = new Map<string, string>();

const pascal = (code: string) =>
  code.replace(/(?:^|_)([a-z])/g, (_match, letter: string) => letter.toUpperCase());

/**
 * The response for a route's own codes at `status`: each code with its contracts title, then the
 * rule's detail; the rule's headers only when the rule applies to the route anyway.
 */
function ownResponse(status: number, codes: readonly ErrorCode[], route: RouteFacts, problem: object) {
  const wrong = codes.filter((code) => ERRORS[code]?.status !== status);
  if (codes.length === 0 || wrong.length > 0) {
    throw new Error(
      `${route.method} ${route.url}: config.problems[${status}] must list codes of @prospectflow/contracts ERRORS answered with ${status} (wrong: ${wrong.join(', ') || 'none listed'})`,
    );
  }
  const rule = RULES.find((candidate) => candidate.status === status);
  const named = codes.map((code) => `\`${code}\` (${ERRORS[code].title})`).join(' or ');
  const description = rule?.detail ? `${named}: ${rule.detail}` : `${named}.`;
  OWN_NAMES.set(`${status} ${description}`, codes.map(pascal).join('Or'));
  return problemResponse(description, problem, rule?.applies(route) ? rule.headers : undefined);
}

/** components/responses name of a generated error response (recognised by its description). */
export function standardResponseName(status: string, description: unknown): string | undefined {
  const rule = RULES.find((candidate) => String(candidate.status) === status);
  if (rule && rule.description === description) return rule.name;
  return OWN_NAMES.get(`${status} ${String(description)}`);
}

/** The error answers of a route, by status: the rules that apply, then the route's own codes. */
export function errorResponses(route: RouteFacts, problem: object): Record<string, object> {
  const responses: Record<string, object> = Object.fromEntries(
    RULES.filter((rule) => rule.applies(route)).map((rule) => [
      String(rule.status),
      problemResponse(rule.description, problem, rule.headers),
    ]),
  );
  for (const [status, codes] of Object.entries(route.problems ?? {})) {
    if (codes) responses[status] = ownResponse(Number(status), codes, route, problem);
  }
  return responses;
}
