/**
 * RFC 9457 problem details. Every error the API answers with is one of these, with a stable
 * snake_case `code` clients can switch on (the title and detail are for humans).
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Same URI scheme as auth-core, so every problem type lives under one documentation root. */
export function problemType(code: string): string {
  return `https://docs.prospectflow.dev/problems/${code.replaceAll('_', '-')}`;
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  409: 'Conflict',
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
 * `extensions` are extra members of the body (e.g. `existingId` on a conflict).
 */
export class ProblemError extends Error {
  readonly statusCode: number;
  readonly title: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly code: string,
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
    this.statusCode = status;
    this.title = options.title ?? statusTitle(status);
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  toProblem(instance?: string): Problem {
    return {
      ...this.extensions,
      type: problemType(this.code),
      title: this.title,
      status: this.status,
      detail: this.detail,
      code: this.code,
      ...(instance === undefined ? {} : { instance }),
    };
  }
}

export function isProblemError(error: unknown): error is ProblemError {
  return error instanceof ProblemError;
}

/** 404 that never says whether the id exists in another organisation. */
export function notFound(what: string, code = 'not_found'): ProblemError {
  return new ProblemError(404, code, `${what} was not found.`);
}

/** 409 naming the row that already holds the unique value, so clients can use it instead. */
export function conflict(code: string, detail: string, existingId?: string): ProblemError {
  return new ProblemError(409, code, detail, existingId ? { extensions: { existingId } } : {});
}

export function badRequest(code: string, detail: string, extensions?: Record<string, unknown>): ProblemError {
  return new ProblemError(400, code, detail, extensions ? { extensions } : {});
}

export function unprocessable(
  code: string,
  detail: string,
  extensions?: Record<string, unknown>,
): ProblemError {
  return new ProblemError(422, code, detail, extensions ? { extensions } : {});
}
