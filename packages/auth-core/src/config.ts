import path from 'node:path';
import { findRepositoryRoot } from './dev/repository-root.js';

export type AuthMode = 'cognito' | 'dev';
export type TokenUse = 'id' | 'access' | 'both';

export interface AuthConfig {
  mode: AuthMode;
  /** One or several Cognito user pools, e.g. `eu-west-1_AbCdEf123`. */
  userPoolIds: string[];
  /** App client ids accepted in `client_id` (access tokens) or `aud` (ID tokens). */
  clientIds: string[];
  tokenUse: TokenUse;
  /** Fetch keys here instead of Cognito (local development, tests). */
  jwksUrl: string | undefined;
  /** Seconds of clock skew accepted on `exp`/`nbf`. */
  clockToleranceSeconds: number;
  /** Tokens longer than this are refused before any parsing. */
  maxTokenLength: number;
  /** Time allowed for one JWKS fetch and for start-up hydration. */
  jwksTimeoutMs: number;
  /** After an unknown `kid` triggered a refetch, further refetches wait this long. */
  jwksPenaltySeconds: number;
  /** RFC 6750 realm in `WWW-Authenticate`. */
  realm: string;
  /** Redis for the session cache; in-process cache when unset (development only). */
  redisUrl: string | undefined;
  /** Upper bound of a cached session's life (also bounded by the token's `exp`). */
  sessionTtlSeconds: number;
  /** Where the dev issuer keeps its RSA key (AUTH_MODE=dev). */
  devKeyDir: string;
}

export class AuthConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid auth configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'AuthConfigError';
  }
}

/** Same shape aws-jwt-verify accepts: `<region>_<id>`. */
const USER_POOL_ID = /^(?:eusc-[a-z]{2}|[a-z]{2})-(?:gov-)?[a-z]+-\d_[a-zA-Z0-9]+$/;
const CLIENT_ID = /^[\w+]{1,128}$/;

export const DEV_USER_POOL_ID = 'eu-west-1_DevPool01';
export const DEV_CLIENT_ID = 'prospectflowdevclient';

type Env = Record<string, string | undefined>;

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function integer(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
    return fallback;
  }
  return value;
}

/**
 * Reads and validates the auth settings. Every problem is reported at once, so a misconfigured
 * deployment fails at boot with the full list rather than one token at a time.
 */
export function loadAuthConfig(env: Env = process.env, overrides: Partial<AuthConfig> = {}): AuthConfig {
  const problems: string[] = [];
  const modeRaw = (env.AUTH_MODE ?? 'cognito').trim() || 'cognito';
  if (modeRaw !== 'cognito' && modeRaw !== 'dev')
    problems.push(`AUTH_MODE must be "cognito" or "dev" (got "${modeRaw}")`);
  const mode: AuthMode = modeRaw === 'dev' ? 'dev' : 'cognito';
  if (mode === 'dev' && env.NODE_ENV === 'production') {
    problems.push('AUTH_MODE=dev is refused when NODE_ENV=production: dev tokens are signed by a local key');
  }

  let userPoolIds = list(env.COGNITO_USER_POOL_ID);
  let clientIds = list(env.COGNITO_CLIENT_ID);
  if (mode === 'dev') {
    if (userPoolIds.length === 0) userPoolIds = [DEV_USER_POOL_ID];
    if (clientIds.length === 0) clientIds = [DEV_CLIENT_ID];
  }
  if (userPoolIds.length === 0)
    problems.push('COGNITO_USER_POOL_ID is required (one pool id or several, comma-separated)');
  for (const id of userPoolIds) {
    if (!USER_POOL_ID.test(id))
      problems.push(`COGNITO_USER_POOL_ID: "${id}" is not a Cognito user pool id (<region>_<id>)`);
  }
  if (clientIds.length === 0)
    problems.push('COGNITO_CLIENT_ID is required (one app client id or several, comma-separated)');
  for (const id of clientIds) {
    if (!CLIENT_ID.test(id)) problems.push(`COGNITO_CLIENT_ID: "${id}" is not an app client id`);
  }

  const tokenUseRaw = (env.COGNITO_TOKEN_USE ?? 'access').trim() || 'access';
  if (!['id', 'access', 'both'].includes(tokenUseRaw)) {
    problems.push(`COGNITO_TOKEN_USE must be "id", "access" or "both" (got "${tokenUseRaw}")`);
  }

  const jwksUrl = env.AUTH_JWKS_URL?.trim() || undefined;
  if (jwksUrl !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(jwksUrl);
    } catch {
      problems.push(`AUTH_JWKS_URL is not a URL (got "${jwksUrl}")`);
    }
    if (parsed && parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      problems.push('AUTH_JWKS_URL must be http(s)');
    }
    if (parsed?.protocol === 'http:' && env.NODE_ENV === 'production') {
      problems.push('AUTH_JWKS_URL must use https when NODE_ENV=production');
    }
  }

  const redisUrl = env.REDIS_URL?.trim() || undefined;
  const config: AuthConfig = {
    mode,
    userPoolIds,
    clientIds,
    tokenUse: tokenUseRaw as TokenUse,
    jwksUrl,
    clockToleranceSeconds: integer(env, 'AUTH_CLOCK_TOLERANCE_SECONDS', 5, 0, 300, problems),
    maxTokenLength: integer(env, 'AUTH_MAX_TOKEN_LENGTH', 8192, 512, 16_384, problems),
    jwksTimeoutMs: integer(env, 'AUTH_JWKS_TIMEOUT_MS', 5000, 100, 60_000, problems),
    jwksPenaltySeconds: integer(env, 'AUTH_JWKS_PENALTY_SECONDS', 10, 0, 3600, problems),
    realm: env.AUTH_REALM?.trim() || 'prospectflow',
    redisUrl,
    sessionTtlSeconds: integer(env, 'AUTH_SESSION_TTL_SECONDS', 600, 1, 3600, problems),
    devKeyDir: path.resolve(
      env.AUTH_DEV_KEY_DIR?.trim() || path.join(findRepositoryRoot(), '.data', 'dev-auth'),
    ),
    ...overrides,
  };
  if (!config.redisUrl && env.NODE_ENV === 'production') {
    problems.push(
      'REDIS_URL is required when NODE_ENV=production (the in-process session cache is per process)',
    );
  }
  if (problems.length > 0) throw new AuthConfigError(problems);
  return config;
}
