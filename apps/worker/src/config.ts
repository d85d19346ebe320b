/** Worker settings from the environment (see README for the table). */
export interface WorkerConfig {
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
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be an integer ≥ ${min} (got "${raw}")`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const databaseUrl = env.WORKER_DATABASE_URL;
  if (!databaseUrl) throw new Error('WORKER_DATABASE_URL is required (role prospectflow_worker)');
  const production = env.NODE_ENV === 'production';
  const variantSeed = env.VARIANT_SEED ?? (production ? '' : 'dev-variant-seed');
  if (!variantSeed) throw new Error('VARIANT_SEED is required in production (HMAC key of A/B assignment)');
  return {
    databaseUrl,
    listenUrl: env.WORKER_LISTEN_DATABASE_URL || databaseUrl,
    smtpUrl: env.SMTP_URL ?? 'smtp://127.0.0.1:1025',
    publicBaseUrl: env.PUBLIC_BASE_URL ?? 'http://localhost:3000',
    variantSeed,
    slots: int(env, 'WORKER_SLOTS', 8, 1),
    prefetch: int(env, 'WORKER_PREFETCH', Math.max(int(env, 'WORKER_SLOTS', 8, 1), 4), 0),
    leaseSeconds: int(env, 'WORKER_LEASE_SECONDS', 120, 1),
    pollIntervalMs: int(env, 'WORKER_POLL_INTERVAL_MS', 1000, 10),
    pollOnly: env.WORKER_POLL_ONLY === '1' || env.WORKER_POLL_ONLY === 'true',
    shutdownGraceMs: int(env, 'WORKER_SHUTDOWN_GRACE_MS', 20_000, 0),
    metricsPort: int(env, 'WORKER_METRICS_PORT', 9464, 0),
    metricsHost: env.WORKER_METRICS_HOST ?? '127.0.0.1',
    smtpMaxConnections: int(env, 'SMTP_MAX_CONNECTIONS', 5, 1),
    baseBackoffMs: int(env, 'WORKER_RETRY_BASE_MS', 30_000, 1),
    maxBackoffMs: int(env, 'WORKER_RETRY_MAX_MS', 6 * 3600_000, 1),
  };
}
