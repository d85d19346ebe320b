import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool } from 'pg';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { WorkerMetrics } from '../metrics.js';
import { type BackoffOptions, backoffDelayMs, DEFAULT_BACKOFF } from './backoff.js';
import { KeyedBatcher } from './batcher.js';
import { PermanentError, ReleasedError, SnoozeError } from './errors.js';
import { TaskListener } from './listener.js';
import {
  claimTasks,
  completeTasks,
  heartbeatTasks,
  inTenant,
  markFailed,
  markPending,
  markSucceeded,
  releaseTasks,
  requeueExpiredTasks,
} from './sql.js';
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
}

interface InFlight {
  task: ClaimedTask;
  controller: AbortController;
  done: Promise<void>;
}

type State = 'idle' | 'running' | 'stopping' | 'stopped';

/**
 * Claims due tasks across organisations (system path), runs each in its organisation's tenant
 * context, keeps their leases alive, and maps handler outcomes to queue transitions.
 */
export class Worker {
  readonly id: string;
  readonly metrics: WorkerMetrics;
  readonly #o: WorkerOptions;
  readonly #inFlight = new Map<string, InFlight>();
  /** Claimed, not started yet (claim-ahead). */
  #ready: ClaimedTask[] = [];
  /** Handler done, completion statement not yet confirmed: still leased, no longer in a slot. */
  readonly #completing = new Map<string, Promise<void>>();
  readonly #prefetch: number;
  #state: State = 'idle';
  #wakeResolve: (() => void) | undefined;
  #woken = false;
  #listener: TaskListener | undefined;
  #timers: NodeJS.Timeout[] = [];
  #loop: Promise<void> | undefined;

  constructor(options: WorkerOptions) {
    if (!options.pollOnly && !options.listenUrl)
      throw new Error('listenUrl is required unless pollOnly is set');
    if (options.slots < 1) throw new Error('slots must be ≥ 1');
    this.#o = options;
    this.id = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.metrics = options.metrics ?? new WorkerMetrics();
    this.#prefetch = Math.max(0, options.prefetch ?? Math.max(options.slots, 4));
  }

  get state(): State {
    return this.#state;
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  /** Starts the claim loop, LISTEN, heartbeats and the lease sweeper. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`worker is ${this.#state}`);
    this.#state = 'running';
    const { log, leaseSeconds } = this.#o;
    if (!this.#o.pollOnly) {
      this.#listener = new TaskListener(this.#o.listenUrl!, () => this.#wake(), log);
      await this.#listener.start();
    }
    this.#every(this.#o.heartbeatIntervalMs ?? (leaseSeconds * 1000) / 3, () => this.#heartbeat());
    this.#every(this.#o.sweepIntervalMs ?? Math.max(500, (leaseSeconds * 1000) / 2), () => this.#sweep());
    this.#loop = this.#runLoop();
    log.info(
      { workerId: this.id, slots: this.#o.slots, leaseSeconds, pollOnly: this.#o.pollOnly },
      'worker started',
    );
  }

  /**
   * Stops claiming, lets in-flight tasks finish for `graceMs`, then aborts the rest: handlers hand
   * their task back (pending, attempt refunded) before any side effect.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return;
    const wasRunning = this.#state === 'running';
    this.#state = 'stopping';
    this.#wake();
    await this.#listener?.stop();
    await this.#loop;
    // Claimed but never started: hand them straight back, attempt refunded.
    const unstarted = this.#ready;
    this.#ready = [];
    if (unstarted.length > 0) {
      await releaseTasks(this.#o.pool, this.id, unstarted).catch((error) =>
        this.#o.log.error({ err: error }, 'could not release unstarted tasks; their leases will expire'),
      );
    }
    const settled = () =>
      Promise.allSettled([...[...this.#inFlight.values()].map((f) => f.done), ...this.#completing.values()]);
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      if (this.#inFlight.size > 0) {
        this.#o.log.warn({ remaining: this.#inFlight.size }, 'grace period over: releasing unfinished tasks');
        for (const f of this.#inFlight.values()) f.controller.abort();
        await settled();
      }
    }
    await settled();
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#state = 'stopped';
    if (wasRunning) this.#o.log.info({ workerId: this.id }, 'worker stopped');
  }

  /** One claim of up to `slots` due tasks, run to completion. Returns how many were claimed. */
  async runOnce(): Promise<number> {
    const tasks = await this.#claim(this.#o.slots);
    await Promise.all(tasks.map((task) => this.#dispatch(task).done));
    return tasks.length;
  }

  /** runOnce until nothing is due (tests and scripts drive time with their clock). */
  async drain(maxRounds = 10_000): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxRounds; i++) {
      const n = await this.runOnce();
      if (n === 0) return total;
      total += n;
    }
    throw new Error(`drain: still busy after ${maxRounds} rounds`);
  }

  async #runLoop(): Promise<void> {
    const { slots, log } = this.#o;
    // Claim again once the ready queue is down to half the prefetch: the next batch arrives while
    // the current one still runs.
    const lowWater = Math.floor(this.#prefetch / 2);
    while (this.#state === 'running') {
      this.#fill();
      this.#woken = false;
      const room = slots + this.#prefetch - this.#inFlight.size - this.#ready.length;
      let claimed = 0;
      if (room > 0 && (this.#ready.length <= lowWater || this.#inFlight.size < slots)) {
        try {
          const tasks = await this.#claim(room);
          claimed = tasks.length;
          if (this.#state !== 'running') {
            // stop() began while claiming: these go back with the rest of the ready queue.
            this.#ready.push(...tasks);
            break;
          }
          // Within the new batch, neighbours of one organisation start together, so their statements
          // can share a round trip (handlers batch per organisation). Only the new batch is sorted:
          // tasks already waiting keep their place ahead of it, so none is passed over forever.
          const byOrganisation = [...tasks].sort((a, b) =>
            a.organisation_id < b.organisation_id ? -1 : a.organisation_id > b.organisation_id ? 1 : 0,
          );
          this.#ready.push(...byOrganisation);
          this.#fill();
        } catch (error) {
          log.error({ err: error }, 'claim failed; retrying after the poll interval');
        }
        if (claimed === room) continue; // more may be due right now
      }
      await this.#waitForWake();
    }
  }

  /** Starts ready tasks while slots are free. */
  #fill(): void {
    while (this.#inFlight.size < this.#o.slots && this.#ready.length > 0 && this.#state === 'running') {
      this.#dispatch(this.#ready.shift()!);
    }
  }

  async #claim(limit: number): Promise<ClaimedTask[]> {
    const now = this.#o.clock.now();
    const tasks = await claimTasks(this.#o.pool, this.id, limit, this.#o.leaseSeconds, now);
    for (const task of tasks) {
      this.metrics.claimed.inc({ type: task.type });
      this.metrics.lag.observe(Math.max(0, (now.getTime() - new Date(task.run_at).getTime()) / 1000));
    }
    if (tasks.length > 0) this.#o.onClaim?.(tasks);
    return tasks;
  }

  #dispatch(task: ClaimedTask): InFlight {
    const controller = new AbortController();
    const entry = { task, controller } as InFlight;
    this.#inFlight.set(task.id, entry);
    this.metrics.inFlight.set(this.#inFlight.size);
    entry.done = this.#execute(task, controller.signal).finally(() => this.#freeSlot(task.id));
    return entry;
  }

  /** The task no longer occupies a slot (its handler is done); start the next ready one. */
  #freeSlot(id: string): void {
    if (!this.#inFlight.delete(id)) return;
    this.metrics.inFlight.set(this.#inFlight.size);
    this.#fill();
    this.#wake();
  }

  async #execute(task: ClaimedTask, signal: AbortSignal): Promise<void> {
    const { pool, clock, handlers } = this.#o;
    const log = this.#o.log.child({
      taskId: task.id,
      organisationId: task.organisation_id,
      type: task.type,
      attempt: task.attempts,
    });
    const endTimer = this.metrics.duration.startTimer({ type: task.type });
    let completed = false;
    try {
      const handler = handlers[task.type];
      if (!handler) throw new PermanentError(`no handler for task type ${task.type}`);
      await handler({
        task,
        pool,
        clock,
        log,
        workerId: this.id,
        signal,
        complete: async (client, note) => {
          if (!(await markSucceeded(client, task, this.id, clock.now(), note))) {
            throw new Error('lease lost: another worker owns this task now');
          }
          completed = true;
        },
        completedInTransaction: (updated) => {
          if (!updated) throw new Error('lease lost: another worker owns this task now');
          completed = true;
        },
      });
      if (!completed) {
        // The slot is free as soon as the handler is done; the completion joins the next batch
        // statement and the task stays leased (and heartbeated) until it is recorded.
        const completion = this.#completeBatched(task);
        this.#completing.set(
          task.id,
          completion.catch(() => {}),
        );
        this.#freeSlot(task.id);
        try {
          await completion;
        } finally {
          this.#completing.delete(task.id);
        }
      }
      this.metrics.succeeded.inc({ type: task.type });
      log.debug('task succeeded');
    } catch (error) {
      await this.#settleFailure(task, error, log).catch((e) =>
        log.error(
          { err: e },
          'could not record the task outcome; its lease will expire and it will run again',
        ),
      );
    } finally {
      endTimer();
    }
  }

  /**
   * Completions that carry no writes of their own are grouped into one statement: whatever
   * accumulates while the previous statement is on the wire goes out in the next one.
   */
  readonly #completions = new KeyedBatcher<ClaimedTask, void>(async (_all, tasks) => {
    await completeTasks(this.#o.pool, this.id, tasks, this.#o.clock.now());
    return tasks.map(() => undefined);
  });

  #completeBatched(task: ClaimedTask): Promise<void> {
    return this.#completions.call('all', task);
  }

  async #settleFailure(task: ClaimedTask, error: unknown, log: Logger): Promise<void> {
    const { pool, clock } = this.#o;
    const now = clock.now();
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await inTenant(pool, task.organisation_id, async (client) => {
      if (error instanceof SnoozeError) {
        await markPending(client, task, this.id, error.until, {
          refund: true,
          error: `snoozed: ${error.reason}`,
        });
        this.metrics.snoozed.inc({ type: task.type });
        log.info({ until: error.until.toISOString(), reason: error.reason }, 'task snoozed');
      } else if (error instanceof ReleasedError || (this.#state === 'stopping' && isAbort(error))) {
        await markPending(client, task, this.id, now, { refund: true });
        this.metrics.released.inc({ type: task.type });
        log.info('task released at shutdown');
      } else if (error instanceof PermanentError || task.attempts >= task.max_attempts) {
        await markFailed(client, task, this.id, now, message);
        this.metrics.failed.inc({ type: task.type });
        log.error({ err: error }, 'task failed');
      } else {
        const delay = backoffDelayMs(task.attempts, this.#o.backoff ?? DEFAULT_BACKOFF);
        await markPending(client, task, this.id, new Date(now.getTime() + delay), {
          refund: false,
          error: message,
        });
        this.metrics.retried.inc({ type: task.type });
        log.warn({ err: error, retryInMs: delay }, 'task will be retried');
      }
    });
  }

  async #heartbeat(): Promise<void> {
    const holds = (id: string) =>
      this.#inFlight.has(id) || this.#completing.has(id) || this.#ready.some((t) => t.id === id);
    const ids = [...this.#inFlight.keys(), ...this.#completing.keys(), ...this.#ready.map((t) => t.id)];
    if (ids.length === 0) return;
    const renewed = await heartbeatTasks(this.#o.pool, this.id, ids, this.#o.leaseSeconds);
    // Tasks that finished while the heartbeat waited for a connection are not lost leases.
    const held = ids.filter(holds).length;
    if (renewed < held)
      this.#o.log.warn({ renewed, held }, 'some leases could not be renewed (taken over after expiry?)');
  }

  async #sweep(): Promise<void> {
    const requeued = await requeueExpiredTasks(this.#o.pool);
    if (requeued > 0) {
      this.#o.log.warn({ requeued }, 'requeued tasks whose lease expired');
      this.#wake();
    }
  }

  #every(ms: number, fn: () => Promise<void>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      fn()
        .catch((error) => this.#o.log.error({ err: error }, 'periodic queue job failed'))
        .finally(() => {
          busy = false;
        });
    }, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  #wake(): void {
    const resolve = this.#wakeResolve;
    this.#wakeResolve = undefined;
    // Remember a wake-up that arrives while the loop is busy, so it is never lost.
    if (resolve) resolve();
    else this.#woken = true;
  }

  async #waitForWake(): Promise<void> {
    if (this.#state !== 'running') return;
    if (this.#woken) {
      this.#woken = false;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#wakeResolve = resolve;
      timer = setTimeout(resolve, this.#o.pollIntervalMs);
    });
    clearTimeout(timer);
  }
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error instanceof ReleasedError);
}
