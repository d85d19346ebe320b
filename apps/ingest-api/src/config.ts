/**
 * Process configuration, read once from the environment and validated at start: every problem
 * is reported together so a bad deployment fails at boot with the full list.
 * Auth settings (AUTH_MODE, COGNITO_*, AUTH_JWKS_URL…) are validated by auth-core from `env`.
 */
export type Env = Record<string, string | undefined>;

export interface AppConfig {
  nodeEnv: string;
  host: string;
  port: number;
  logLevel: string;
  /** Runtime URL, role prospectflow_app. */
  databaseUrl: string;
  databasePoolMax: number;
  /** Per-statement cap on the app's connections. */
  databaseStatementTimeoutMs: number;
  /** Optional: rate limits and sessions fall back to in-process stores without it (dev only). */
  redisUrl: string | undefined;
  /** Largest JSON body accepted (multipart uploads have their own limits). */
  bodyLimitBytes: number;
  rateLimitMax: number;
  rateLimitWindowMs: number;
  /** Redis key namespace of the rate limiter. */
  rateLimitNamespace: string;
  /** Only behind a trusted proxy: honour X-Forwarded-* and an incoming x-request-id. */
  trustProxy: boolean;
  publicBaseUrl: string | undefined;
  inboundWebhookSecret: string | undefined;
  /** Swagger UI at /docs (the spec at /openapi.json is always served). */
  docsEnabled: boolean;
  /** The raw environment, handed to auth-core's own config loader. */
  env: Env;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number, problems: string[]) {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
    return fallback;
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean, problems: string[]): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  problems.push(`${name} must be true or false (got "${raw}")`);
  return fallback;
}

function url(env: Env, name: string, protocols: string[], problems: string[]): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  try {
    const parsed = new URL(raw);
    if (!protocols.includes(parsed.protocol)) {
      problems.push(`${name} must use ${protocols.join(' or ')} (got "${parsed.protocol}")`);
    }
  } catch {
    problems.push(`${name} is not a URL`);
  }
  return raw;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const nodeEnv = text(env, 'NODE_ENV') ?? 'development';
  const production = nodeEnv === 'production';
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], problems);
  if (!databaseUrl) problems.push('DATABASE_URL is required (role prospectflow_app)');
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:'], problems);
  if (!redisUrl && production) problems.push('REDIS_URL is required when NODE_ENV=production');
  const logLevel = text(env, 'LOG_LEVEL') ?? (nodeEnv === 'test' ? 'silent' : 'info');
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const publicBaseUrl = url(env, 'PUBLIC_BASE_URL', ['http:', 'https:'], problems);

  const config: AppConfig = {
    nodeEnv,
    host: text(env, 'HOST') ?? '0.0.0.0',
    port: integer(env, 'PORT', 3000, 0, 65_535, problems),
    logLevel,
    databaseUrl: databaseUrl ?? '',
    databasePoolMax: integer(env, 'DATABASE_POOL_MAX', 10, 1, 500, problems),
    databaseStatementTimeoutMs: integer(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 0, 3_600_000, problems),
    redisUrl,
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 104_857_600, problems),
    rateLimitMax: integer(env, 'RATE_LIMIT_MAX', 600, 1, 1_000_000, problems),
    rateLimitWindowMs: integer(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1000, 86_400_000, problems),
    rateLimitNamespace: text(env, 'RATE_LIMIT_NAMESPACE') ?? 'pf:rl:',
    trustProxy: boolean(env, 'TRUST_PROXY', false, problems),
    publicBaseUrl,
    inboundWebhookSecret: text(env, 'INBOUND_WEBHOOK_SECRET'),
    docsEnabled: boolean(env, 'DOCS_ENABLED', true, problems),
    env,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
