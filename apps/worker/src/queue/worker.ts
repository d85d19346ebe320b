import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ATTR, continueTrace } from '@prospectflow/telemetry';
import { WorkerMetrics } from '../metrics.js';
import { KeyedBatcher } from './batcher.js';
import { PermanentError } from './errors.js';
import { settleFailure } from './failure.js';
import { TaskListener } from './listener.js';
import type { WorkerOptions } from './options.js';
import {
  claimTasks,
  completeTasks,
  heartbeatTasks,
  markSucceeded,
  releaseTasks,
  requeueExpiredTasks,
} from './sql.js';
import type { ClaimedTask, TaskType } from './types.js';
import { every, Wakeup } from './wakeup.js';

export type { ClaimFn, WorkerOptions } from './options.js';

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
  /** Tasks in the slots per organisation. */
  readonly #perOrganisation = new Map<string, number>();
  /** Claimed, not started yet (claim-ahead). */
  #ready: ClaimedTask[] = [];
  /** Handler done, completion statement not yet confirmed: still leased, no longer in a slot. */
  readonly #completing = new Map<string, Promise<void>>();
  /**
   * Tasks whose handler completed them inside its own transaction (an import): their row is
   * locked until that commits and then no longer running, so the heartbeat leaves them alone.
   */
  readonly #completedInHandler = new Set<string>();
  readonly #prefetch: number;
  #state: State = 'idle';
  readonly #wakeup = new Wakeup();
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
    const onError = (error: unknown) => log.error({ err: error }, 'periodic queue job failed');
    this.#timers.push(
      every(this.#o.heartbeatIntervalMs ?? (leaseSeconds * 1000) / 3, () => this.#heartbeat(), onError),
      every(
        this.#o.sweepIntervalMs ?? Math.max(500, (leaseSeconds * 1000) / 2),
        () => this.#sweep(),
        onError,
      ),
    );
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
      this.#wakeup.clear();
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
          this.#ready.push(...tasks);
          this.#fill();
        } catch (error) {
          log.error({ err: error }, 'claim failed; retrying after the poll interval');
        }
        if (claimed === room) continue; // more may be due right now
      }
      if (this.#state === 'running') await this.#wakeup.wait(this.#o.pollIntervalMs);
    }
  }

  /** Starts ready tasks while slots are free. */
  #fill(): void {
    while (this.#inFlight.size < this.#o.slots && this.#ready.length > 0 && this.#state === 'running') {
      this.#dispatch(this.#takeNext());
    }
  }

  /**
   * The first ready task of the organisation with the fewest tasks in the slots: the slots spread
   * over organisations (and so over their mailboxes' SMTP connections) instead of queueing behind
   * one. On a tie the oldest wins, so a task is passed over only while its organisation is busier.
   */
  #takeNext(): ClaimedTask {
    let pick = 0;
    let least = Number.POSITIVE_INFINITY;
    // Looks at the head of the queue only: a large prefetch (hundreds) costs no more per dispatch.
    const scan = Math.min(this.#ready.length, 64);
    for (let i = 0; i < scan && least > 0; i++) {
      const load = this.#perOrganisation.get(this.#ready[i]!.organisation_id) ?? 0;
      if (load < least) {
        pick = i;
        least = load;
      }
    }
    return this.#ready.splice(pick, 1)[0]!;
  }

  async #claim(limit: number): Promise<ClaimedTask[]> {
    const now = this.#o.clock.now();
    const tasks = await (this.#o.claim ?? claimTasks)(
      this.#o.pool,
      this.id,
      limit,
      this.#o.leaseSeconds,
      now,
    );
    for (const task of tasks) {
      this.metrics.claimed.inc({ type: task.type });
      this.metrics.lag.observe(Math.max(0, (now.getTime() - new Date(task.run_at).getTime()) / 1000));
    }
    if (tasks.length > 0) {
      this.#o.onClaim?.(tasks);
      this.#announce(tasks);
    }
    return tasks;
  }

  /** Hands each handler with an onClaimed hook its tasks of the batch (it may start their reads). */
  #announce(tasks: ClaimedTask[]): void {
    const byType = new Map<TaskType, ClaimedTask[]>();
    for (const t of tasks) {
      if (!this.#o.handlers[t.type]?.onClaimed) continue;
      const ofType = byType.get(t.type);
      if (ofType) ofType.push(t);
      else byType.set(t.type, [t]);
    }
    for (const [type, ofType] of byType) {
      try {
        this.#o.handlers[type]!.onClaimed!(ofType, this.#o.pool);
      } catch (error) {
        this.#o.log.warn({ err: error, type }, 'onClaimed hook failed; the tasks read when they run');
      }
    }
  }

  #dispatch(task: ClaimedTask): InFlight {
    const controller = new AbortController();
    const entry = { task, controller } as InFlight;
    this.#inFlight.set(task.id, entry);
    this.#perOrganisation.set(
      task.organisation_id,
      (this.#perOrganisation.get(task.organisation_id) ?? 0) + 1,
    );
    this.metrics.inFlight.set(this.#inFlight.size);
    entry.done = this.#execute(task, controller.signal).finally(() => this.#freeSlot(task.id));
    return entry;
  }

  /** The task no longer occupies a slot (its handler is done); start the next ready one. */
  #freeSlot(id: string): void {
    const entry = this.#inFlight.get(id);
    if (!entry) return;
    this.#inFlight.delete(id);
    const org = entry.task.organisation_id;
    const load = (this.#perOrganisation.get(org) ?? 1) - 1;
    if (load > 0) this.#perOrganisation.set(org, load);
    else this.#perOrganisation.delete(org);
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
      // One trace from the request (or task) that enqueued this one, through the handler's sends.
      const spanAttributes = {
        [ATTR.organisationId]: task.organisation_id,
        [ATTR.taskId]: task.id,
        [ATTR.taskType]: task.type,
        [ATTR.taskAttempt]: task.attempts,
      };
      await continueTrace(task.trace_context, `task ${task.type}`, spanAttributes, () =>
        handler({
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
            this.#completedInHandler.add(task.id);
          },
          completedInTransaction: (updated) => {
            if (!updated) throw new Error('lease lost: another worker owns this task now');
            completed = true;
            this.#completedInHandler.add(task.id);
          },
        }),
      );
      if (!completed) {
        // The slot is free as soon as the handler is done; the completion joins the next batch
        // statement and the task stays leased (and heartbeated) until it is recorded.
        const completion = this.#completions.call('all', task);
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
      const failure = {
        pool,
        workerId: this.id,
        now: clock.now(),
        stopping: this.#state === 'stopping',
        backoff: this.#o.backoff,
        metrics: this.metrics,
        log,
      };
      await settleFailure(task, error, failure).catch((e) =>
        log.error(
          { err: e },
          'could not record the task outcome; its lease will expire and it will run again',
        ),
      );
    } finally {
      this.#completedInHandler.delete(task.id);
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

  async #heartbeat(): Promise<void> {
    const holds = (id: string) =>
      !this.#completedInHandler.has(id) &&
      (this.#inFlight.has(id) || this.#completing.has(id) || this.#ready.some((t) => t.id === id));
    // A task its handler completed in its own transaction is done once that commits: renewing it
    // would wait for the commit and then find it finished (the old "leases could not be renewed").
    const ids = [
      ...this.#inFlight.keys(),
      ...this.#completing.keys(),
      ...this.#ready.map((t) => t.id),
    ].filter((id) => !this.#completedInHandler.has(id));
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

  #wake(): void {
    this.#wakeup.wake();
  }
}
