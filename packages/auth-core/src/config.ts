import path from 'node:path';
import {
  ConfigError,
  type Env,
  EnvObject,
  Integer,
  loadEnv,
  OneOf,
  Optional,
  type Rule,
  type Static,
  Text,
  Url,
} from '@prospectflow/config';
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
  /**
   * Cognito's OIDC userInfo endpoint (`https://<domain>/oauth2/userInfo`): where an access
   * token's verified email is learned (access tokens carry none). Dev mode answers from memory.
   */
  userInfoUrl: string | undefined;
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

/** Problems with the auth settings (the shared ConfigError; the name is kept for callers). */
export { ConfigError as AuthConfigError };

/** Same shape aws-jwt-verify accepts: `<region>_<id>`. */
const USER_POOL_ID = /^(?:eusc-[a-z]{2}|[a-z]{2})-(?:gov-)?[a-z]+-\d_[a-zA-Z0-9]+$/;
const CLIENT_ID = /^[\w+]{1,128}$/;
/** Sent as `realm="…"` in WWW-Authenticate: printable ASCII but `"` and `\`, so it needs no escaping. */
const REALM = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

export const DEV_USER_POOL_ID = 'eu-west-1_DevPool01';
export const DEV_CLIENT_ID = 'prospectflowdevclient';

/** The variables auth-core reads (the services' `--help` lists them with @prospectflow/config's envUsage). */
export const AuthEnv = EnvObject({
  NODE_ENV: Optional(Text()),
  AUTH_MODE: OneOf(['cognito', 'dev'], {
    default: 'cognito',
    description: 'dev: tokens signed by a local key',
  }),
  COGNITO_USER_POOL_ID: Optional(Text({ description: 'one pool id or several, comma-separated' })),
  COGNITO_CLIENT_ID: Optional(Text({ description: 'one app client id or several, comma-separated' })),
  COGNITO_TOKEN_USE: OneOf(['id', 'access', 'both'], { default: 'access' }),
  AUTH_JWKS_URL: Optional(Url(['http', 'https'], { description: 'fetch keys here instead of Cognito' })),
  COGNITO_USERINFO_URL: Optional(
    Url(['http', 'https'], {
      description:
        "the user pool domain's https://<domain>/oauth2/userInfo: access tokens' verified email (required in production with COGNITO_TOKEN_USE=access)",
    }),
  ),
  AUTH_CLOCK_TOLERANCE_SECONDS: Integer({ default: 5, minimum: 0, maximum: 300 }),
  AUTH_MAX_TOKEN_LENGTH: Integer({ default: 8192, minimum: 512, maximum: 16_384 }),
  AUTH_JWKS_TIMEOUT_MS: Integer({ default: 5000, minimum: 100, maximum: 60_000 }),
  AUTH_JWKS_PENALTY_SECONDS: Integer({ default: 10, minimum: 0, maximum: 3600 }),
  AUTH_REALM: Text({ default: 'prospectflow', description: 'RFC 6750 realm in WWW-Authenticate' }),
  REDIS_URL: Optional(Url(['redis', 'rediss'], { description: 'session cache (required in production)' })),
  AUTH_SESSION_TTL_SECONDS: Integer({ default: 600, minimum: 1, maximum: 3600 }),
  AUTH_DEV_KEY_DIR: Optional(Text({ description: 'dev issuer key folder (default .data/dev-auth)' })),
});
type AuthEnvValues = Static<typeof AuthEnv>;

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function poolIds(values: AuthEnvValues): string[] {
  const ids = list(values.COGNITO_USER_POOL_ID);
  return ids.length === 0 && values.AUTH_MODE === 'dev' ? [DEV_USER_POOL_ID] : ids;
}

function clientIds(values: AuthEnvValues): string[] {
  const ids = list(values.COGNITO_CLIENT_ID);
  return ids.length === 0 && values.AUTH_MODE === 'dev' ? [DEV_CLIENT_ID] : ids;
}

/** True when `url` would be fetched over plain http (schemes are case-insensitive: HTTP://… too). */
function plainHttp(url: string | undefined): boolean {
  if (url === undefined) return false;
  try {
    return new URL(url.trim()).protocol === 'http:';
  } catch {
    return /^\s*http:/i.test(url);
  }
}

function rules(overrides: Partial<AuthConfig>): Rule<AuthEnvValues>[] {
  const production = (values: AuthEnvValues) => values.NODE_ENV === 'production';
  return [
    (values) =>
      values.AUTH_MODE === 'dev' && production(values)
        ? 'AUTH_MODE=dev is refused when NODE_ENV=production: dev tokens are signed by a local key'
        : undefined,
    (values) =>
      poolIds(values).length === 0
        ? 'COGNITO_USER_POOL_ID is required (one pool id or several, comma-separated)'
        : poolIds(values)
            .filter((id) => !USER_POOL_ID.test(id))
            .map((id) => `COGNITO_USER_POOL_ID: "${id}" is not a Cognito user pool id (<region>_<id>)`),
    (values) =>
      clientIds(values).length === 0
        ? 'COGNITO_CLIENT_ID is required (one app client id or several, comma-separated)'
        : clientIds(values)
            .filter((id) => !CLIENT_ID.test(id))
            .map((id) => `COGNITO_CLIENT_ID: "${id}" is not an app client id`),
    (values) =>
      REALM.test(values.AUTH_REALM)
        ? undefined
        : 'AUTH_REALM must be printable ASCII without " or \\ (it is quoted in WWW-Authenticate)',
    (values) =>
      plainHttp(values.AUTH_JWKS_URL) && production(values)
        ? 'AUTH_JWKS_URL must use https when NODE_ENV=production'
        : undefined,
    (values) =>
      plainHttp(values.COGNITO_USERINFO_URL) && production(values)
        ? 'COGNITO_USERINFO_URL must use https when NODE_ENV=production'
        : undefined,
    (values) =>
      production(values) &&
      values.AUTH_MODE !== 'dev' &&
      values.COGNITO_TOKEN_USE === 'access' &&
      !values.COGNITO_USERINFO_URL &&
      !overrides.userInfoUrl
        ? 'COGNITO_USERINFO_URL is required when NODE_ENV=production and COGNITO_TOKEN_USE=access ' +
          '(access tokens carry no email; invitations need the verified one): https://<your user pool domain>/oauth2/userInfo'
        : undefined,
    (values) =>
      production(values) && !values.REDIS_URL && !overrides.redisUrl
        ? 'REDIS_URL is required when NODE_ENV=production (the in-process session cache is per process)'
        : undefined,
  ];
}

/**
 * Reads and validates the auth settings. Every problem is reported at once, so a misconfigured
 * deployment fails at boot with the full list rather than one token at a time.
 */
export function loadAuthConfig(env: Env = process.env, overrides: Partial<AuthConfig> = {}): AuthConfig {
  const values = loadEnv(AuthEnv, env, rules(overrides), 'auth configuration');
  return {
    mode: values.AUTH_MODE,
    userPoolIds: poolIds(values),
    clientIds: clientIds(values),
    tokenUse: values.COGNITO_TOKEN_USE,
    jwksUrl: values.AUTH_JWKS_URL,
    userInfoUrl: values.COGNITO_USERINFO_URL,
    clockToleranceSeconds: values.AUTH_CLOCK_TOLERANCE_SECONDS,
    maxTokenLength: values.AUTH_MAX_TOKEN_LENGTH,
    jwksTimeoutMs: values.AUTH_JWKS_TIMEOUT_MS,
    jwksPenaltySeconds: values.AUTH_JWKS_PENALTY_SECONDS,
    realm: values.AUTH_REALM,
    redisUrl: values.REDIS_URL,
    sessionTtlSeconds: values.AUTH_SESSION_TTL_SECONDS,
    devKeyDir: path.resolve(values.AUTH_DEV_KEY_DIR ?? path.join(findRepositoryRoot(), '.data', 'dev-auth')),
    ...overrides,
  };
}
