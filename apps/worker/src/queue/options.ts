import type { Pool } from 'pg';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import type { BackoffOptions } from './backoff.js';
import type { ClaimedTask, TaskHandlers } from './types.js';

export interface WorkerOptions {
  pool: Pool;
  handlers: TaskHandlers;
  clock: Clock;
  log: Logger;
  /** Concurrent tasks. */
  slots: number;
  /**
   * Claimed tasks held ready for the next free slot (claim-ahead), so a claim round trip is paid
   * once per batch and overlaps running tasks. They are leased and heartbeated like running ones
   * and handed back (attempt refunded) at shutdown. A crash costs each of them an attempt, as it
   * does running ones (the claim counts it), so it stays small: default max(slots, 4); 0 claims
   * only for free slots.
   */
  prefetch?: number;
  /** Lease length; a dead worker's tasks come back after it. */
  leaseSeconds: number;
  /** Polling backstop (and the only wake-up in poll-only mode). */
  pollIntervalMs: number;
  /** Skip LISTEN (pgBouncer transaction pooling). */
  pollOnly: boolean;
  /** Direct URL for the LISTEN connection; required unless pollOnly. */
  listenUrl?: string;
  workerId?: string;
  heartbeatIntervalMs?: number;
  sweepIntervalMs?: number;
  backoff?: BackoffOptions;
  metrics?: WorkerMetrics;
  /** Observes every claimed batch (tests, benches). */
  onClaim?: (tasks: ClaimedTask[]) => void;
  /** How tasks are claimed (default app.claim_tasks; the import worker claims run_import tasks). */
  claim?: ClaimFn;
}

export type ClaimFn = (
  pool: Pool,
  workerId: string,
  limit: number,
  leaseSeconds: number,
  now: Date,
) => Promise<ClaimedTask[]>;
