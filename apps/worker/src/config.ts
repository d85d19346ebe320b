import { ConfigError, type Env, loadAll, loadEnv, type Static, Var } from '@prospectflow/config';
import {
  type MailNetwork,
  mailNetworkEnv,
  mailNetworkFromEnv,
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

/**
 * Worker settings from the environment, validated with @prospectflow/config: every problem is
 * reported at once. To add a variable: declare it in WorkerEnv, map it in loadConfig, add it to
 * the README table.
 */
export const WorkerEnv = Var.EnvObject({
  NODE_ENV: Var.Text({ default: 'development' }),
  LOG_LEVEL: Var.LogLevel({ default: 'info' }),
  WORKER_DATABASE_URL: Var.PostgresUrl({ description: 'role prospectflow_worker' }),
  WORKER_LISTEN_DATABASE_URL: Var.Optional(
    Var.PostgresUrl({ description: 'direct URL for LISTEN when the main one is pooled' }),
  ),
  SMTP_URL: Var.Url(['smtp', 'smtps'], { default: 'smtp://127.0.0.1:1025' }),
  PUBLIC_BASE_URL: Var.Url(['http', 'https'], { default: 'http://localhost:3000' }),
  VARIANT_SEED: Var.Optional(
    Var.Secret({ description: 'HMAC key of A/B assignment', requiredInProduction: true }),
  ),
  WORKER_SLOTS: Var.Integer({ default: 8, minimum: 1, maximum: 1000, description: 'concurrent tasks' }),
  WORKER_PREFETCH: Var.Optional(
    Var.Integer({
      minimum: 0,
      maximum: 10_000,
      description: 'claimed tasks held ready (default max(slots, 4))',
    }),
  ),
  WORKER_LEASE_SECONDS: Var.Integer({ default: 120, minimum: 1, maximum: 86_400 }),
  WORKER_POLL_INTERVAL_MS: Var.Integer({ default: 1000, minimum: 10, maximum: 3_600_000 }),
  WORKER_POLL_ONLY: Var.Flag({ default: false, description: 'no LISTEN (pgBouncer transaction pooling)' }),
  WORKER_SHUTDOWN_GRACE_MS: Var.Integer({ default: 20_000, minimum: 0, maximum: 3_600_000 }),
  WORKER_METRICS_PORT: Var.Integer({ default: 9464, minimum: 0, maximum: 65_535 }),
  WORKER_METRICS_HOST: Var.Text({ default: '127.0.0.1' }),
  SMTP_MAX_CONNECTIONS: Var.Integer({ default: 5, minimum: 1, maximum: 1000 }),
  WORKER_RETRY_BASE_MS: Var.Integer({ default: 30_000, minimum: 1, maximum: 86_400_000 }),
  ...mailNetworkEnv(),
  ...oauthClientEnv(),
  MAILBOX_VERIFY_TIMEOUT_MS: Var.Integer({ default: 120_000, minimum: 1000, maximum: 3_600_000 }),
  IMAP_POLL_INTERVAL_MS: Var.Integer({
    default: 60_000,
    minimum: 0,
    maximum: 86_400_000,
    description: 'how often verified mailboxes INBOX are read for replies and bounces (0: never)',
  }),
  IMAP_POLL_CONCURRENCY: Var.Integer({ default: 4, minimum: 1, maximum: 64 }),
  IMAP_IDLE_CONNECTIONS: Var.Integer({
    default: 100,
    minimum: 0,
    maximum: 10_000,
    description: 'mailboxes watched with IMAP IDLE at most, one connection each (0: polling only)',
  }),
  WORKER_RETENTION_INTERVAL_MS: Var.Integer({
    default: 3600_000,
    minimum: 0,
    maximum: 7 * 86_400_000,
    description: 'how often apply_retention tasks are enqueued per organisation (0: never)',
  }),
  SENDING_DOMAIN_CHECK_INTERVAL_MS: Var.Integer({
    default: 6 * 3600_000,
    minimum: 0,
    maximum: 7 * 86_400_000,
    description:
      "how old a proved sending domain's DNS proof may get before it is looked up again (0: never)",
  }),
  WORKER_RETENTION_BATCH: Var.Integer({ default: 1000, minimum: 1, maximum: 1_000_000 }),
  WORKER_RETRY_MAX_MS: Var.Integer({ default: 6 * 3600_000, minimum: 1, maximum: 7 * 86_400_000 }),
  IMPORT_SLOTS: Var.Integer({
    default: 2,
    minimum: 0,
    maximum: 64,
    description: 'imports this process runs at once (0: none); each holds one connection',
  }),
  IMPORT_ORG_CONCURRENCY: Var.Integer({
    default: 2,
    minimum: 1,
    maximum: 64,
    description: 'imports of one organisation running at once across all workers (the rest queue)',
  }),
  IMPORT_LEASE_SECONDS: Var.Integer({
    default: 60,
    minimum: 1,
    maximum: 3600,
    description: 'an import whose worker stopped heartbeating is retried after this',
  }),
  IMPORT_RETRY_BASE_MS: Var.Integer({ default: 5000, minimum: 1, maximum: 3_600_000 }),
  IMPORT_MAX_ROWS: Var.Integer({ default: 2_000_000, minimum: 1, maximum: 100_000_000 }),
  // Where the API stores uploads (same settings as the API's).
  ...storageEnv(),
});
export type WorkerEnvValues = Static<typeof WorkerEnv>;
export { ConfigError };

/** Worker settings from the environment (see README for the table). */
export interface WorkerConfig {
  logLevel: string;
  databaseUrl: string;
  /** Direct URL for LISTEN when WORKER_DATABASE_URL goes through pgBouncer; defaults to databaseUrl. */
  listenUrl: string;
  smtpUrl: string;
  publicBaseUrl: string;
  variantSeed: string;
  slots: number;
  /** Claimed tasks held ready for a free slot (claim-ahead). */
  prefetch: number;
  leaseSeconds: number;
  pollIntervalMs: number;
  pollOnly: boolean;
  shutdownGraceMs: number;
  metricsPort: number;
  metricsHost: string;
  smtpMaxConnections: number;
  maxBackoffMs: number;
  baseBackoffMs: number;
  /** Connected mailboxes: SSRF allow-list, DNS servers, OAuth clients, verification timeout. */
  mail: MailSettings;
  /** How often apply_retention tasks are enqueued per organisation (0: never, e.g. a second worker pool). */
  retentionIntervalMs: number;
  retentionBatchSize: number;
  /**
   * How old a proved sending domain's last DNS lookup may get before the worker checks it again
   * (0: never, e.g. a second worker pool); a removed proof withdraws the domain's relay mailboxes.
   */
  domainCheckIntervalMs: number;
  /** PRIVACY_HMAC_KEYS: keys of the hashed suppression list (same as the API's). */
  subjectKeys: SubjectKeys;
  imports: ImportSettings;
}

export interface ImportSettings {
  /** Imports this process runs at once (0: this process runs none). */
  slots: number;
  /** Imports of one organisation running at once across every worker. */
  perOrganisation: number;
  leaseSeconds: number;
  retryBaseMs: number;
  maxRows: number;
  storage: StorageConfig;
}

export interface MailSettings extends MailNetwork {
  oauthClients: ReturnType<typeof oauthClientsFromEnv>;
  verifyTimeoutMs: number;
  /** IMAP_POLL_INTERVAL_MS: between two reads of every verified mailbox's INBOX (0: the poller is off). */
  imapPollIntervalMs: number;
  imapPollConcurrency: number;
  /** IMAP_IDLE_CONNECTIONS: mailboxes watched with IDLE at most (absent or 0: polling only). */
  imapIdleConnections?: number;
}

export function loadConfig(env: Env = process.env): WorkerConfig {
  // PRIVACY_HMAC_KEYS is read by outreach-core; its problems join the same list.
  const [values, subjectKeys] = loadAll(
    [() => loadEnv(WorkerEnv, env, [(_values, all) => storageProblems(all)]), () => loadSubjectKeys(env)],
    'worker configuration',
  );
  return {
    logLevel: values.LOG_LEVEL,
    databaseUrl: values.WORKER_DATABASE_URL,
    listenUrl: values.WORKER_LISTEN_DATABASE_URL ?? values.WORKER_DATABASE_URL,
    smtpUrl: values.SMTP_URL,
    publicBaseUrl: values.PUBLIC_BASE_URL,
    variantSeed: values.VARIANT_SEED ?? 'dev-variant-seed',
    slots: values.WORKER_SLOTS,
    prefetch: values.WORKER_PREFETCH ?? Math.max(values.WORKER_SLOTS, 4),
    leaseSeconds: values.WORKER_LEASE_SECONDS,
    pollIntervalMs: values.WORKER_POLL_INTERVAL_MS,
    pollOnly: values.WORKER_POLL_ONLY,
    shutdownGraceMs: values.WORKER_SHUTDOWN_GRACE_MS,
    metricsPort: values.WORKER_METRICS_PORT,
    metricsHost: values.WORKER_METRICS_HOST,
    smtpMaxConnections: values.SMTP_MAX_CONNECTIONS,
    baseBackoffMs: values.WORKER_RETRY_BASE_MS,
    maxBackoffMs: values.WORKER_RETRY_MAX_MS,
    retentionIntervalMs: values.WORKER_RETENTION_INTERVAL_MS,
    retentionBatchSize: values.WORKER_RETENTION_BATCH,
    domainCheckIntervalMs: values.SENDING_DOMAIN_CHECK_INTERVAL_MS,
    subjectKeys,
    imports: {
      slots: values.IMPORT_SLOTS,
      perOrganisation: values.IMPORT_ORG_CONCURRENCY,
      leaseSeconds: values.IMPORT_LEASE_SECONDS,
      retryBaseMs: values.IMPORT_RETRY_BASE_MS,
      maxRows: values.IMPORT_MAX_ROWS,
      storage: storageConfigFromEnv(env),
    },
    mail: {
      ...mailNetworkFromEnv(values),
      // OAuth client settings (OAUTH_GOOGLE_*, OAUTH_MICROSOFT_*) are read by @prospectflow/mailboxes.
      oauthClients: oauthClientsFromEnv(env),
      verifyTimeoutMs: values.MAILBOX_VERIFY_TIMEOUT_MS,
      imapPollIntervalMs: values.IMAP_POLL_INTERVAL_MS,
      imapPollConcurrency: values.IMAP_POLL_CONCURRENCY,
      imapIdleConnections: values.IMAP_IDLE_CONNECTIONS,
    },
  };
}
