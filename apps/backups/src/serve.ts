import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ObjectStorage } from '@prospectflow/object-storage';
import { Cron } from 'croner';
import { runBackup } from './backup-job.js';
import { type AgentConfig, ConfigError, requireSettings } from './config.js';
import type { Logger } from './logger.js';
import { backupMetrics } from './metrics.js';
import { runRestoreCheck } from './restore-check.js';
import type { Job } from './status.js';

export interface Serving {
  url: string;
  /** Stops the schedules, aborts a running job, closes the server. */
  close(): Promise<void>;
}

/** Jobs run one at a time (a restore check never competes with a backup for the disk). */
function serialRunner(run: (job: Job, signal: AbortSignal) => Promise<unknown>, log: Logger) {
  let chain: Promise<void> = Promise.resolve();
  const queued = new Set<Job>();
  const abort = new AbortController();
  return {
    enqueue(job: Job) {
      if (queued.has(job)) {
        log.warn({ event: 'run_skipped', job }, `${job} is still queued or running: this run is skipped`);
        return;
      }
      queued.add(job);
      chain = chain.then(async () => {
        if (abort.signal.aborted) return;
        log.info({ event: 'run_start', job }, `${job} starting`);
        try {
          await run(job, abort.signal);
          log.info({ event: 'run_succeeded', job }, `${job} succeeded`);
        } catch (error) {
          log.error({ event: 'run_failed', job, err: error }, `${job} failed`);
        } finally {
          queued.delete(job);
        }
      });
    },
    async stop() {
      abort.abort();
      await chain;
    },
  };
}

/**
 * `serve`: /metrics (read from the bucket) and /health on BACKUP_METRICS_HOST:PORT, and — when
 * BACKUP_SCHEDULE / RESTORE_CHECK_SCHEDULE are set — the jobs on those schedules (UTC). Compose
 * runs it with both schedules; Kubernetes runs it without (its CronJobs run the jobs).
 */
export async function serve(config: AgentConfig, storage: ObjectStorage, log: Logger): Promise<Serving> {
  requireSettings(config, { backup: !!config.backupSchedule, restore: !!config.restoreSchedule });
  const runner = serialRunner(
    (job, signal) =>
      job === 'backup'
        ? runBackup(config, storage, log, signal)
        : runRestoreCheck(config, storage, log, { signal }),
    log,
  );
  const crons: Cron[] = [];
  const schedules: [Job, string | undefined, string][] = [
    ['backup', config.backupSchedule, 'BACKUP_SCHEDULE'],
    ['restore-check', config.restoreSchedule, 'RESTORE_CHECK_SCHEDULE'],
  ];
  for (const [job, pattern, variable] of schedules) {
    if (!pattern) continue;
    try {
      crons.push(new Cron(pattern, { name: job, timezone: 'Etc/UTC' }, () => runner.enqueue(job)));
    } catch (error) {
      for (const c of crons) c.stop();
      throw new ConfigError([
        `${variable} is not a cron expression or ISO date-time: ${(error as Error).message}`,
      ]);
    }
  }
  const registry = backupMetrics(storage, config.prefix);
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/metrics') {
      registry.metrics().then(
        (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (error) => response.writeHead(500).end(String(error)),
      );
    } else if (request.method === 'GET' && request.url === '/health') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen(config.metricsPort, config.metricsHost, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.metricsHost}:${port}`;
  log.info(
    {
      event: 'serving',
      url,
      schedules: crons.map((c) => ({ job: c.name, next: c.nextRun()?.toISOString() ?? null })),
    },
    'serving /metrics and /health',
  );
  return {
    url,
    async close() {
      for (const c of crons) c.stop();
      await runner.stop();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
