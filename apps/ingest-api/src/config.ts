import { loadAuthConfig } from '@prospectflow/auth-core';
import {
  ConfigError,
  type Env,
  loadAll,
  loadEnv,
  parseOrigins,
  type Rule,
  type Static,
  Var,
} from '@prospectflow/config';
import {
  type MailNetwork,
  mailNetworkEnv,
  mailNetworkFromEnv,
  type OAuthClient,
  type OAuthProvider,
  oauthClientEnv,
  oauthClientsFromEnv,
} from '@prospectflow/mailboxes';
import {
  type StorageConfig,
  storageConfigFromEnv,
  storageEnv,
  storageProblems,
} from '@prospectflow/object-storage';
import { loadSubjectKeys, type SubjectKeys } from '@prospectflow/outreach-core';
import { parseTrustProxy, type TrustProxy } from './lib/trust-proxy.js';

function trustProxyValue(raw: string): TrustProxy {
  const parsed = parseTrustProxy(raw);
  return 'value' in parsed ? parsed.value : false;
}

/**
 * Process configuration, read once from the environment and validated at start with the shared
 * approach of @prospectflow/config: every problem (this app's and auth-core's) is reported together,
 * so a bad deployment fails at boot with the full list. To add a variable: declare it in ApiEnv, map
 * it in loadConfig, document it in the README table.
 */
export const ApiEnv = Var.EnvObject({
  NODE_ENV: Var.Text({ default: 'development' }),
  HOST: Var.Text({ default: '0.0.0.0' }),
  PORT: Var.Integer({ default: 3000, minimum: 0, maximum: 65_535 }),
  LOG_LEVEL: Var.Optional(
    Var.LogLevel({ description: 'pino level (default info, silent when NODE_ENV=test)' }),
  ),
  DATABASE_URL: Var.PostgresUrl({ description: 'runtime URL, role prospectflow_app' }),
  DATABASE_POOL_MAX: Var.Integer({ default: 10, minimum: 1, maximum: 500 }),
  DATABASE_READ_URL: Var.Optional(
    Var.PostgresUrl({
      description:
        'read replica for campaign statistics (role prospectflow_app; same pool size); unset: the primary serves them',
    }),
  ),
  DATABASE_STATEMENT_TIMEOUT_MS: Var.Integer({
    default: 30_000,
    minimum: 0,
    maximum: 3_600_000,
    description: 'per-statement cap, set inside each tenant transaction (survives any pooler)',
  }),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: Var.Integer({
    default: 60_000,
    minimum: 0,
    maximum: 3_600_000,
    description: 'cap on a tenant transaction left idle by the app, set inside the transaction',
  }),
  REDIS_URL: Var.Optional(
    Var.Url(['redis', 'rediss'], { description: 'rate limits and sessions', requiredInProduction: true }),
  ),
  BODY_LIMIT_BYTES: Var.Integer({
    default: 1_048_576,
    minimum: 1024,
    maximum: 104_857_600,
    description: 'largest JSON body accepted',
  }),
  RATE_LIMIT_MAX: Var.Integer({ default: 600, minimum: 1, maximum: 1_000_000 }),
  RATE_LIMIT_WINDOW_MS: Var.Integer({ default: 60_000, minimum: 1000, maximum: 86_400_000 }),
  RATE_LIMIT_NAMESPACE: Var.Text({
    default: 'pf:rl:',
    description: 'Redis key namespace of the rate limiter',
  }),
  TRUST_PROXY: Var.Text({
    default: 'false',
    description:
      'proxies whose X-Forwarded-* (and x-request-id) are honoured: false, a hop count (1) or addresses/CIDRs (10.0.0.0/8,::1); never "true"',
  }),
  PUBLIC_BASE_URL: Var.Optional(Var.Url(['http', 'https'])),
  INBOUND_WEBHOOK_SECRET: Var.Optional(Var.Secret({ description: 'shared secret of the inbound webhook' })),
  DOCS_ENABLED: Var.Flag({ default: true, description: 'Swagger UI at /docs' }),
  CORS_ORIGINS: Var.Optional(
    Var.Origins({
      description:
        'browser origins allowed to call the API with credentials (comma-separated); none by default',
    }),
  ),
  // Connected mailboxes: MAIL_HOST_ALLOWLIST, DNS_SERVERS (shared with the workers).
  ...mailNetworkEnv(),
  ...oauthClientEnv(),
  OAUTH_REDIRECT_URL: Var.Optional(
    Var.Url(['http', 'https'], {
      description:
        'where Google/Microsoft send the user back after consenting to connect a mailbox (the frontend page that posts code and state to /v1/mailboxes/oauth/complete); the OAuth clients (OAUTH_GOOGLE_*, OAUTH_MICROSOFT_*) are read by @prospectflow/mailboxes',
    }),
  ),
  CLOSE_GRACE_DELAY_MS: Var.Integer({
    default: 10_000,
    minimum: 0,
    maximum: 600_000,
    description: 'time allowed to finish requests on SIGTERM',
  }),
  IMPORT_MAX_ATTEMPTS: Var.Integer({
    default: 3,
    minimum: 1,
    maximum: 20,
    description: 'attempts a worker makes at an import (from the stored file) before it fails',
  }),
  INVITATION_TTL_DAYS: Var.Integer({
    default: 7,
    minimum: 1,
    maximum: 90,
    description: 'days an invitation to an organisation stays acceptable',
  }),
  IMPORT_MAX_BYTES: Var.Optional(
    Var.Integer({
      minimum: 1,
      maximum: 2 ** 40,
      description: 'the one byte limit of every import body, any content type (default 100 MiB)',
    }),
  ),
  IMPORT_MAX_FILE_BYTES: Var.Optional(
    Var.Integer({
      minimum: 1,
      maximum: 2 ** 40,
      description: 'old name of IMPORT_MAX_BYTES, read when it is unset',
    }),
  ),
  // Uploads are stored there until a worker has imported them (shared with the workers).
  ...storageEnv(),
});
export type ApiEnvValues = Static<typeof ApiEnv>;
export type { Env };
export { ConfigError };

const rules: Rule<ApiEnvValues>[] = [
  (values) => {
    const parsed = parseTrustProxy(values.TRUST_PROXY);
    return 'problem' in parsed ? parsed.problem : undefined;
  },
  (_values, env) => storageProblems(env),
];

export interface AppConfig {
  nodeEnv: string;
  host: string;
  port: number;
  logLevel: string;
  /** Runtime URL, role prospectflow_app. */
  databaseUrl: string;
  databasePoolMax: number;
  /** Streaming replica that serves the lag-tolerant reads (campaign statistics); undefined: the primary. */
  databaseReadUrl: string | undefined;
  /** Per-statement cap on the app's connections. */
  databaseStatementTimeoutMs: number;
  /** Idle-in-transaction cap of the same units (0 = the server's). */
  databaseIdleInTransactionTimeoutMs: number;
  /** Optional: rate limits and sessions fall back to in-process stores without it (dev only). */
  redisUrl: string | undefined;
  /** Largest JSON body accepted (multipart uploads have their own limits). */
  bodyLimitBytes: number;
  rateLimitMax: number;
  rateLimitWindowMs: number;
  /** Redis key namespace of the rate limiter. */
  rateLimitNamespace: string;
  /** Only behind a trusted proxy: honour X-Forwarded-* and an incoming x-request-id. */
  trustProxy: TrustProxy;
  publicBaseUrl: string | undefined;
  inboundWebhookSecret: string | undefined;
  /** Swagger UI at /docs (the spec at /openapi.json is always served). */
  docsEnabled: boolean;
  closeGraceDelayMs: number;
  /** CORS_ORIGINS: browser origins allowed to call the API (credentials included); empty = no CORS. */
  corsOrigins: string[];
  /** PRIVACY_HMAC_KEYS: keys of the subject hashes (suppression list, erasure ledger). */
  subjectKeys: SubjectKeys;
  /** Connected mailboxes: hosts allowed although private (MAIL_HOST_ALLOWLIST) and DNS servers (DNS_SERVERS). */
  mail: MailNetwork;
  /** Connecting Google/Microsoft mailboxes by consent: the OAuth clients and OAUTH_REDIRECT_URL. */
  oauth: { clients: Partial<Record<OAuthProvider, OAuthClient>>; redirectUrl: string | undefined };
  /**
   * Imports: where uploads are stored (STORAGE_*) for the workers, their attempts, the one byte
   * limit of every import body and the folder uploads are spooled to while they arrive.
   */
  imports: { storage: StorageConfig; maxAttempts: number; maxBytes: number };
  /** Days an invitation stays acceptable (INVITATION_TTL_DAYS). */
  invitationTtlDays: number;
  /** The raw environment, handed to auth-core's own config loader. */
  env: Env;
}

/** Reads this app's variables and auth-core's, and throws one ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): AppConfig {
  const [values, , subjectKeys] = loadAll([
    () => loadEnv(ApiEnv, env, rules),
    () => loadAuthConfig(env),
    () => loadSubjectKeys({ ...env, NODE_ENV: env.NODE_ENV?.trim() || 'development' }),
  ]);
  return {
    // Trimmed once here, so every comparison with 'production' agrees (the env rules trim too).
    nodeEnv: values.NODE_ENV.trim(),
    host: values.HOST,
    port: values.PORT,
    logLevel: values.LOG_LEVEL ?? (values.NODE_ENV === 'test' ? 'silent' : 'info'),
    databaseUrl: values.DATABASE_URL,
    databasePoolMax: values.DATABASE_POOL_MAX,
    databaseReadUrl: values.DATABASE_READ_URL,
    databaseStatementTimeoutMs: values.DATABASE_STATEMENT_TIMEOUT_MS,
    databaseIdleInTransactionTimeoutMs: values.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    redisUrl: values.REDIS_URL,
    bodyLimitBytes: values.BODY_LIMIT_BYTES,
    rateLimitMax: values.RATE_LIMIT_MAX,
    rateLimitWindowMs: values.RATE_LIMIT_WINDOW_MS,
    rateLimitNamespace: values.RATE_LIMIT_NAMESPACE,
    trustProxy: trustProxyValue(values.TRUST_PROXY),
    publicBaseUrl: values.PUBLIC_BASE_URL,
    inboundWebhookSecret: values.INBOUND_WEBHOOK_SECRET,
    docsEnabled: values.DOCS_ENABLED,
    closeGraceDelayMs: values.CLOSE_GRACE_DELAY_MS,
    corsOrigins: parseOrigins(values.CORS_ORIGINS),
    subjectKeys,
    mail: mailNetworkFromEnv(values),
    oauth: { clients: oauthClientsFromEnv(env), redirectUrl: values.OAUTH_REDIRECT_URL },
    imports: {
      storage: storageConfigFromEnv(env),
      maxAttempts: values.IMPORT_MAX_ATTEMPTS,
      maxBytes: values.IMPORT_MAX_BYTES ?? values.IMPORT_MAX_FILE_BYTES ?? 100 * 1024 * 1024,
    },
    invitationTtlDays: values.INVITATION_TTL_DAYS,
    env,
  };
}
