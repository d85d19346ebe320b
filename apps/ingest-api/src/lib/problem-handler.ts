import { isAuthError, sendAuthProblem } from '@prospectflow/auth-core';
import type { ErrorCode } from '@prospectflow/contracts';
import { KeyUnavailableError } from '@prospectflow/secrets';
import { PoolTimeoutError } from '@prospectflow/tenant-context';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problemFromDatabaseError } from './db-errors.js';
import { PROBLEM_CONTENT_TYPE, ProblemError } from './problem.js';
import { setSecurityHeaders } from './security-headers.js';

/** Fastify's own 4xx errors get stable codes instead of their FST_ERR_* names. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_BAD_URL: 'bad_url',
  FST_ERR_ASYNC_CONSTRAINT: 'bad_request',
};

interface ValidationIssue {
  in: string;
  path: string;
  message: string;
}

function validationIssues(error: FastifyError): ValidationIssue[] {
  const where = error.validationContext ?? 'body';
  return (error.validation ?? []).map((issue) => {
    const params = issue.params as { missingProperty?: string; additionalProperty?: string } | undefined;
    const base = issue.instancePath ?? '';
    const field = params?.missingProperty ?? params?.additionalProperty;
    return {
      in: where,
      path: field ? `${base}/${field}` : base || '/',
      message:
        params?.additionalProperty !== undefined
          ? 'is not a field of this request (unknown fields are refused, not ignored)'
          : (issue.message ?? 'is invalid'),
    };
  });
}

/** Turns anything thrown by a route or hook into the ProblemError the client will see. */
export function toProblemError(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError?.validation) {
    return new ProblemError(400, 'validation_failed', 'The request does not match the schema.', {
      extensions: { errors: validationIssues(fastifyError) },
    });
  }
  if (error instanceof PoolTimeoutError) {
    return new ProblemError(503, 'database_unavailable', 'No database connection is free; retry shortly.', {
      headers: { 'retry-after': '2' },
      cause: error,
    });
  }
  if (error instanceof KeyUnavailableError) {
    // The operator's key setup, not the client's input: nothing was changed, the secret may be intact.
    return new ProblemError(
      503,
      'secrets_key_unavailable',
      'A key needed to open stored secrets is not available to the service; retry after an operator restores it.',
      { cause: error },
    );
  }
  const fromDatabase = problemFromDatabaseError(error);
  if (fromDatabase) return fromDatabase;
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code =
      FASTIFY_CODES[fastifyError.code] ??
      (status === 429 ? 'rate_limited' : status === 413 ? 'body_too_large' : 'bad_request');
    return new ProblemError(status, code, fastifyError.message || 'The request cannot be processed.');
  }
  return new ProblemError(500, 'internal_error', 'An unexpected error occurred.', { cause: error });
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: ProblemError,
): FastifyReply {
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  return reply
    .code(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problem.toProblem(String(request.id)));
}

/**
 * Fastify's `frameworkErrors`: what the router refuses before any route or hook runs (a URL whose
 * percent-encoding does not decode, a failed async constraint) gets problem+json with a contract
 * code like every other answer, not Fastify's own JSON body — and never echoes the URL, which may
 * hold a token or an address. Given `production` for the security headers (HSTS).
 */
export function frameworkErrors(production: boolean) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const problem =
      error.code === 'FST_ERR_BAD_URL'
        ? new ProblemError(400, 'bad_url', 'The URL is not valid: its percent-encoding does not decode.')
        : toProblemError(error);
    // No onSend hook runs on this path: the security headers are set here.
    reply.type(PROBLEM_CONTENT_TYPE);
    setSecurityHeaders(request, reply, production);
    sendProblem(request, reply, problem);
  };
}

/** One error handler and one 404 handler at the root; routes only throw. */
export function registerProblemHandlers(fastify: FastifyInstance): void {
  fastify.setErrorHandler((error, request, reply) => {
    if (isAuthError(error)) {
      return sendAuthProblem(reply, error, request.server.tokenVerifier?.config.realm ?? 'prospectflow');
    }
    const problem = toProblemError(error);
    if (problem.status >= 500) request.log.error({ err: error, code: problem.code }, 'request failed');
    else request.log.info({ code: problem.code, err: problem.cause ?? undefined }, 'request refused');
    return sendProblem(request, reply, problem);
  });

  // Unknown routes still need a token (no route map for anonymous callers) but no organisation,
  // so an authenticated caller gets a plain 404. Fastify reads `config` here though its types omit it.
  const notFoundOptions = { config: { organisation: false } } as Parameters<
    typeof fastify.setNotFoundHandler
  >[0];
  fastify.setNotFoundHandler(notFoundOptions, (request, reply) => {
    return sendProblem(
      request,
      reply,
      new ProblemError(404, 'route_not_found', `No route ${request.method} ${request.url.split('?')[0]}.`),
    );
  });
}
