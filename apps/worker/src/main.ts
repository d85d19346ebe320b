import closeWithGrace from 'close-with-grace';
import pg from 'pg';
import { systemClock } from './clock.js';
import { loadConfig } from './config.js';
import { outreachHandlers } from './handlers.js';
import { startOpsServer } from './http.js';
import { createLogger } from './logger.js';
import { WorkerMetrics } from './metrics.js';
import { createSmtpMailer } from './outreach/mailer.js';
import { queueStats } from './queue/sql.js';
import { Worker } from './queue/worker.js';

const log = createLogger();
const config = loadConfig();
const pool = new pg.Pool({
  connectionString: config.databaseUrl,
  // Slots, heartbeat, sweeper and claim each need a connection at times.
  max: config.slots + 3,
  connectionTimeoutMillis: 10_000,
  application_name: 'prospectflow-worker',
});
pool.on('error', (error) => log.warn({ err: error }, 'idle database connection failed'));
const mailer = createSmtpMailer({ url: config.smtpUrl, maxConnections: config.smtpMaxConnections });
const metrics = new WorkerMetrics(
  () => queueStats(pool, systemClock.now()),
  () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
);
const worker = new Worker({
  pool,
  handlers: outreachHandlers({
    mailer,
    publicBaseUrl: config.publicBaseUrl,
    variantSeed: config.variantSeed,
  }),
  clock: systemClock,
  log,
  slots: config.slots,
  prefetch: config.prefetch,
  leaseSeconds: config.leaseSeconds,
  pollIntervalMs: config.pollIntervalMs,
  pollOnly: config.pollOnly,
  listenUrl: config.listenUrl,
  backoff: { baseMs: config.baseBackoffMs, capMs: config.maxBackoffMs },
  metrics,
});

await worker.start();
const ops = await startOpsServer(worker, config.metricsPort, config.metricsHost);
log.info({ port: ops.port }, 'metrics on /metrics, health on /health');

// SIGTERM/SIGINT: stop claiming, finish in-flight work within the grace period, release the rest.
closeWithGrace({ delay: config.shutdownGraceMs + 5_000, logger: log }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'fatal error: shutting down');
  log.info({ signal }, 'shutting down');
  await worker.stop(config.shutdownGraceMs);
  await ops.close();
  mailer.close();
  await pool.end();
});
