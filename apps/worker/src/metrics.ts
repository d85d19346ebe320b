import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueStats } from './queue/sql.js';

/** Connection pool figures, read at scrape time (pg.Pool's totalCount, idleCount, waitingCount). */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * One registry per worker instance, so several workers (tests, benches) never share counters —
 * except a second queue Worker of the same process (the import runner, see `sibling`).
 */
export class WorkerMetrics {
  readonly registry: Registry;
  readonly claimed: Counter<'type'>;
  readonly succeeded: Counter<'type'>;
  readonly failed: Counter<'type'>;
  readonly retried: Counter<'type'>;
  readonly snoozed: Counter<'type'>;
  readonly released: Counter<'type'>;
  readonly inFlight: Gauge;
  readonly lag: Histogram;
  readonly duration: Histogram<'type'>;
  readonly retentionRemoved: Counter<'rule'>;

  /**
   * Metrics of a second queue Worker in the process whose /metrics `parent` serves: the task
   * counters and durations are the parent's (labelled by task type, so `run_import` is a series
   * of its own), in-flight and lag are its own gauges named `prospectflow_worker_<name>_…`.
   */
  static sibling(parent: WorkerMetrics, name: string): WorkerMetrics {
    return new WorkerMetrics(undefined, undefined, { parent, name });
  }

  constructor(
    queueStats?: () => Promise<QueueStats>,
    poolStats?: () => PoolStats,
    sibling?: { parent: WorkerMetrics; name: string },
  ) {
    this.registry = sibling ? sibling.parent.registry : new Registry();
    const registers = [this.registry];
    if (sibling) {
      const { parent, name } = sibling;
      this.claimed = parent.claimed;
      this.succeeded = parent.succeeded;
      this.failed = parent.failed;
      this.retried = parent.retried;
      this.snoozed = parent.snoozed;
      this.released = parent.released;
      this.duration = parent.duration;
      this.retentionRemoved = parent.retentionRemoved;
      this.inFlight = new Gauge({
        name: `prospectflow_worker_${name}_tasks_in_flight`,
        help: `Tasks the ${name} runner is running now`,
        registers,
      });
      this.lag = new Histogram({
        name: `prospectflow_worker_${name}_queue_lag_seconds`,
        help: `Claim time minus run_at for the ${name} runner (how late tasks start)`,
        buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
        registers,
      });
      return;
    }
    const counter = (name: string, help: string) =>
      new Counter({ name, help, labelNames: ['type'] as const, registers });
    this.claimed = counter('prospectflow_worker_tasks_claimed_total', 'Tasks claimed');
    this.succeeded = counter('prospectflow_worker_tasks_succeeded_total', 'Tasks completed');
    this.failed = counter('prospectflow_worker_tasks_failed_total', 'Tasks failed for good');
    this.retried = counter('prospectflow_worker_tasks_retried_total', 'Tasks scheduled for another attempt');
    this.snoozed = counter(
      'prospectflow_worker_tasks_snoozed_total',
      'Tasks moved later without spending an attempt',
    );
    this.released = counter('prospectflow_worker_tasks_released_total', 'Tasks handed back at shutdown');
    this.inFlight = new Gauge({
      name: 'prospectflow_worker_tasks_in_flight',
      help: 'Tasks running now',
      registers,
    });
    this.lag = new Histogram({
      name: 'prospectflow_worker_queue_lag_seconds',
      help: 'Claim time minus run_at (how late tasks start)',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    });
    this.duration = new Histogram({
      name: 'prospectflow_worker_task_duration_seconds',
      help: 'Handler run time',
      labelNames: ['type'] as const,
      buckets: [0.005, 0.02, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.retentionRemoved = new Counter({
      name: 'prospectflow_worker_retention_rows_total',
      help: 'Rows removed (or values cleared) by retention, per rule',
      labelNames: ['rule'] as const,
      registers,
    });
    if (queueStats) {
      // Read at scrape time; counts only (the SQL function returns no tenant data).
      let pending: Promise<QueueStats> | undefined;
      const read = () => {
        pending ??= queueStats().finally(() => {
          pending = undefined;
        });
        return pending;
      };
      const gauge = (name: string, help: string, pick: (s: QueueStats) => number) =>
        new Gauge({
          name,
          help,
          registers,
          async collect() {
            this.set(pick(await read()));
          },
        });
      gauge('prospectflow_worker_queue_ready', 'Pending tasks that are due', (s) => s.ready);
      gauge('prospectflow_worker_queue_deferred', 'Pending tasks scheduled later', (s) => s.deferred);
      gauge('prospectflow_worker_queue_running', 'Tasks leased by any worker', (s) => s.running);
      gauge(
        'prospectflow_worker_queue_oldest_ready_seconds',
        'Age of the oldest due task (queue lag)',
        (s) => s.oldestReadySeconds,
      );
    }
    if (poolStats) {
      const poolGauge = (name: string, help: string, pick: (s: PoolStats) => number) =>
        new Gauge({
          name,
          help,
          registers,
          collect() {
            this.set(pick(poolStats()));
          },
        });
      poolGauge('pg_pool_size', 'Open connections of the worker pool (idle + in use)', (s) => s.total);
      poolGauge('pg_pool_idle', 'Idle connections of the worker pool', (s) => s.idle);
      poolGauge('pg_pool_waiting', 'Tasks waiting for a connection', (s) => s.waiting);
    }
  }
}
