import { AuthError } from './errors.js';

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const SCHEME = 'bearer';

/**
 * Every `Authorization` value the client sent. Node keeps only the first of repeated
 * `Authorization` headers in `request.headers`, so repetition is only visible in `rawHeaders`.
 */
export function authorizationValues(rawHeaders: readonly string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'authorization') values.push(rawHeaders[i + 1]!);
  }
  return values;
}

/**
 * Extracts the bearer token, strictly: one header, scheme `Bearer` in any case, exactly one
 * space, a compact JWS and nothing else. Query-string and body tokens are never read.
 */
export function readBearerToken(rawHeaders: readonly string[], maxTokenLength: number): string {
  const values = authorizationValues(rawHeaders);
  if (values.length > 1)
    throw new AuthError('authorization_header_repeated', 'Send exactly one Authorization header.');
  const value = values[0];
  if (value === undefined || value.trim() === '') {
    throw new AuthError('credentials_missing', 'This endpoint needs a bearer token.');
  }
  if (value.slice(0, SCHEME.length).toLowerCase() !== SCHEME) {
    throw new AuthError(
      'credentials_missing',
      'This endpoint needs a bearer token (Authorization: Bearer <token>).',
    );
  }
  const rest = value.slice(SCHEME.length);
  if (rest.trim() === '')
    throw new AuthError('credentials_missing', 'The Authorization header holds no token.');
  if (rest[0] !== ' ' || /\s/.test(rest[1] ?? '')) {
    throw new AuthError(
      'authorization_header_malformed',
      'Use "Authorization: Bearer <token>" with exactly one space.',
    );
  }
  const token = rest.slice(1);
  // Checked before any pattern matching so an oversized header costs nothing more.
  if (token.length > maxTokenLength)
    throw new AuthError('token_too_long', 'The token is longer than allowed.');
  if (/\s/.test(token)) {
    throw new AuthError(
      'authorization_header_malformed',
      'The Authorization header holds more than one token.',
    );
  }
  if (!COMPACT_JWS.test(token)) throw new AuthError('token_malformed', 'The token is not a signed JWT.');
  return token;
}
