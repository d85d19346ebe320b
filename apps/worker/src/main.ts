import { envUsage } from '@prospectflow/config';
import { createObjectStorage } from '@prospectflow/object-storage';
import { shutdownTracing } from '@prospectflow/telemetry';
import closeWithGrace from 'close-with-grace';
import pg from 'pg';
import { systemClock } from './clock.js';
import { ConfigError, loadConfig, type WorkerConfig, WorkerEnv } from './config.js';
import { outreachHandlers } from './handlers.js';
import { startOpsServer } from './http.js';
import { ImportMetrics } from './imports/import-metrics.js';
import { createImportWorker } from './imports/import-worker.js';
import { createLogger } from './logger.js';
import { MailboxPoller } from './mailboxes/poller.js';
import { createMailServices } from './mailboxes/services.js';
import { WorkerMetrics } from './metrics.js';
import { inboundSink } from './outreach/inbound.js';
import { createSmtpMailer } from './outreach/mailer.js';
import { queueStats } from './queue/sql.js';
import { Worker } from './queue/worker.js';
import {
  DOMAIN_CHECK_TICK_MS,
  enqueueDomainChecks,
  enqueueRetentionTasks,
  startSchedule,
} from './schedules.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    `Usage: node dist/main.js   (the worker: outreach tasks and imports; no arguments, settings from the environment)\n\n${envUsage(WorkerEnv)}\n`,
  );
  process.exit(0);
}

function configOrExit(): WorkerConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
}

const config = configOrExit();
const log = createLogger(config.logLevel);
const pool = new pg.Pool({
  connectionString: config.databaseUrl,
  // Slots, heartbeat, sweeper and claim each need a connection at times.
  max: config.slots + 3,
  connectionTimeoutMillis: 10_000,
  application_name: 'prospectflow-worker',
});
pool.on('error', (error) => log.warn({ err: error }, 'idle database connection failed'));
const mail = createMailServices(config.mail, process.env, pool);
if (!mail.box) log.warn('no key provider (SECRETS_*): connected mailboxes cannot be verified or used');
const mailer = createSmtpMailer({ url: config.smtpUrl, maxConnections: config.smtpMaxConnections });
const metrics = new WorkerMetrics(
  () => queueStats(pool, systemClock.now()),
  () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
);
// The import uploads' storage, for the retention task's sweep of what a dead import worker left.
const uploads = createObjectStorage(config.imports.storage);
const worker = new Worker({
  pool,
  handlers: outreachHandlers({
    mailer,
    publicBaseUrl: config.publicBaseUrl,
    variantSeed: config.variantSeed,
    subjectKeys: config.subjectKeys,
    retention: {
      batchSize: config.retentionBatchSize,
      maxBatches: 100,
      onRemoved: (rule, rows) => metrics.retentionRemoved.inc({ rule }, rows),
      uploads,
    },
    mail,
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

// Imports run beside the outreach queue with their own slots and connections (IMPORT_SLOTS).
const imports = createImportWorker({
  databaseUrl: config.databaseUrl,
  listenUrl: config.listenUrl,
  pollOnly: config.pollOnly,
  pollIntervalMs: config.pollIntervalMs,
  settings: config.imports,
  subjectKeys: config.subjectKeys,
  clock: systemClock,
  log,
  metrics: new ImportMetrics(metrics.registry),
  queueMetrics: metrics,
});

await worker.start();
await imports?.worker.start();
const stopRetention =
  config.retentionIntervalMs > 0
    ? startSchedule(
        'retention',
        config.retentionIntervalMs,
        systemClock,
        (now) => enqueueRetentionTasks(pool, now),
        log,
      )
    : () => {};
// Proved sending domains are looked up again once their last check is older than the interval; the
// timer runs more often than that so a domain is never much later than its due time.
const stopDomainChecks =
  config.domainCheckIntervalMs > 0
    ? startSchedule(
        'sending domain check',
        Math.min(config.domainCheckIntervalMs, DOMAIN_CHECK_TICK_MS),
        systemClock,
        (now) => enqueueDomainChecks(pool, now, config.domainCheckIntervalMs),
        log,
      )
    : () => {};
// Replies and bounces that reach connected mailboxes (the provider webhook is the other door).
const poller =
  mail.box && config.mail.imapPollIntervalMs > 0
    ? new MailboxPoller({
        pool,
        mail,
        log,
        apply: inboundSink(systemClock),
        intervalMs: config.mail.imapPollIntervalMs,
        concurrency: config.mail.imapPollConcurrency,
        idleConnections: config.mail.imapIdleConnections,
      })
    : undefined;
poller?.start();
const ops = await startOpsServer(worker, config.metricsPort, config.metricsHost);
log.info({ port: ops.port }, 'metrics on /metrics, health on /health');

// SIGTERM/SIGINT: stop claiming, finish in-flight work within the grace period, release the rest.
closeWithGrace({ delay: config.shutdownGraceMs + 5_000, logger: log }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'fatal error: shutting down');
  log.info({ signal }, 'shutting down');
  stopRetention();
  stopDomainChecks();
  await poller?.stop();
  await Promise.all([worker.stop(config.shutdownGraceMs), imports?.worker.stop(config.shutdownGraceMs)]);
  await imports?.close();
  await uploads.close();
  await ops.close();
  mailer.close();
  mail.transports.closeAll();
  await pool.end();
  // close-with-grace exits next: the spans still buffered go out now or never.
  await shutdownTracing();
});
