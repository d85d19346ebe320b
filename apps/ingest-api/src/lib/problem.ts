import {
  type ErrorCode,
  type ErrorCodeWithStatus,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  problemBody,
  problemType,
} from '@prospectflow/contracts';

/**
 * RFC 9457 problem details (the shape and the type URIs come from @prospectflow/contracts). Every
 * error the API answers with is one of these, with a stable snake_case `code` clients can switch on.
 */
export { PROBLEM_CONTENT_TYPE, type Problem, problemType };

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Server error' : 'Request error');
}

/**
 * Throw this from any route or plugin: the root error handler turns it into problem+json.
 * `extensions` are extra members of the body (e.g. `existingId` on a conflict). The code is one
 * of contracts' ERRORS, and a literal status must be that code's status there (checked by the
 * compiler), so the document, the client types and the answers cannot disagree.
 */
export class ProblemError<S extends number = number> extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly title: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: S,
    code: ErrorCodeWithStatus<S>,
    readonly detail: string,
    options: {
      title?: string;
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'ProblemError';
    this.code = code;
    this.statusCode = status;
    this.title = options.title ?? statusTitle(status);
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  toProblem(instance?: string): Problem {
    return problemBody(this, instance);
  }
}

export function isProblemError(error: unknown): error is ProblemError {
  return error instanceof ProblemError;
}

/** 404 that never says whether the id exists in another organisation. */
export function notFound(what: string, code: ErrorCodeWithStatus<404> = 'not_found'): ProblemError {
  return new ProblemError(404, code, `${what} was not found.`);
}

/** 409 naming the row that already holds the unique value, so clients can use it instead. */
export function conflict(code: ErrorCodeWithStatus<409>, detail: string, existingId?: string): ProblemError {
  return new ProblemError(409, code, detail, existingId ? { extensions: { existingId } } : {});
}

export function badRequest(
  code: ErrorCodeWithStatus<400>,
  detail: string,
  extensions?: Record<string, unknown>,
): ProblemError {
  return new ProblemError(400, code, detail, extensions ? { extensions } : {});
}

export function unprocessable(
  code: ErrorCodeWithStatus<422>,
  detail: string,
  extensions?: Record<string, unknown>,
): ProblemError {
  return new ProblemError(422, code, detail, extensions ? { extensions } : {});
}
