import { createObjectStorage } from '@prospectflow/object-storage';
import type { SubjectKeys } from '@prospectflow/outreach-core';
import pg from 'pg';
import type { Clock } from '../clock.js';
import type { ImportSettings } from '../config.js';
import type { Logger } from '../logger.js';
import { WorkerMetrics } from '../metrics.js';
import { claimImportTasks } from '../queue/sql.js';
import { Worker } from '../queue/worker.js';
import type { ImportMetrics } from './import-metrics.js';
import { runImportTask } from './run-import.js';

export interface ImportWorkerOptions {
  databaseUrl: string;
  listenUrl: string;
  pollOnly: boolean;
  pollIntervalMs: number;
  settings: ImportSettings;
  subjectKeys: SubjectKeys;
  clock: Clock;
  log: Logger;
  /** Import progress counters, registered on the process's /metrics. */
  metrics?: ImportMetrics;
  /**
   * The process's queue metrics (served on /metrics): the import runner's task counters
   * (claimed, succeeded, failed… with type="run_import") go there. Without it they are kept on a
   * registry of their own that nothing serves.
   */
  queueMetrics?: WorkerMetrics;
}

/**
 * The process's import runner: the queue's Worker with its own slots (IMPORT_SLOTS) and pool, so a
 * long import never takes an outreach slot or connection, claiming only run_import tasks within
 * the per-organisation bound. Returns null when IMPORT_SLOTS is 0.
 */
export function createImportWorker(options: ImportWorkerOptions): {
  worker: Worker;
  close: () => Promise<void>;
} | null {
  const { settings, log } = options;
  if (settings.slots === 0) return null;
  const storage = createObjectStorage(settings.storage);
  // Per import: its transaction and its progress writes; plus heartbeat, sweeper and claim.
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: settings.slots * 2 + 3,
    connectionTimeoutMillis: 10_000,
    application_name: 'prospectflow-worker-imports',
  });
  pool.on('error', (error) => log.warn({ err: error }, 'idle import connection failed'));
  const worker = new Worker({
    pool,
    handlers: {
      run_import: runImportTask({
        storage,
        maxRows: settings.maxRows,
        subjectKeys: options.subjectKeys,
        ...(options.metrics ? { metrics: options.metrics } : {}),
      }),
    },
    clock: options.clock,
    log: log.child({ queue: 'imports' }),
    slots: settings.slots,
    prefetch: 0,
    leaseSeconds: settings.leaseSeconds,
    pollIntervalMs: options.pollIntervalMs,
    pollOnly: options.pollOnly,
    listenUrl: options.listenUrl,
    backoff: { baseMs: settings.retryBaseMs, capMs: settings.retryBaseMs * 16 },
    metrics: options.queueMetrics
      ? WorkerMetrics.sibling(options.queueMetrics, 'import')
      : new WorkerMetrics(),
    claim: (p, workerId, limit, lease, now) =>
      claimImportTasks(p, workerId, limit, lease, settings.perOrganisation, now),
  });
  return {
    worker,
    async close() {
      await storage.close();
      await pool.end();
    },
  };
}
