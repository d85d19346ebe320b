import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { WorkerMetrics } from '../metrics.js';
import { KeyedBatcher } from './batcher.js';
import { announceClaimed, recordClaimed } from './claimed.js';
import { PermanentError } from './errors.js';
import { settleFailure } from './failure.js';
import { TaskListener } from './listener.js';
import type { WorkerOptions } from './options.js';
import { claimTasks, completeTasks, heartbeatTasks, releaseTasks, requeueExpiredTasks } from './sql.js';
import { runHandler, TaskRun, tracerRegistered } from './task-run.js';
import type { ClaimedTask } from './types.js';
import { every, Wakeup } from './wakeup.js';

export type { ClaimFn, WorkerOptions } from './options.js';

/**
 * At most this many completions per statement (a claim takes at most 1000). Each is a primary-key
 * probe (0965), so a large batch costs little more per task than a small one, and with a local
 * queue of hundreds of tasks batches of 64 meant several statements per claimed batch, whose
 * per-statement cost (round trip, plpgsql call, commit) was a good part of a no-op task's.
 */
const COMPLETION_BATCH = 1000;

type State = 'idle' | 'running' | 'stopping' | 'stopped';

/**
 * Claims due tasks across organisations (system path), runs each in its organisation's tenant
 * context, keeps their leases alive, and maps handler outcomes to queue transitions.
 */
export class Worker {
  readonly id: string;
  readonly metrics: WorkerMetrics;
  readonly #o: WorkerOptions;
  readonly #inFlight = new Map<string, TaskRun>();
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
  /** Claim again once the ready queue (with claims on the wire) is down to this many. */
  readonly #lowWater: number;
  readonly #maxClaimsOnWire: number;
  #claimsOnWire = 0;
  /** Tasks asked for by the claims on the wire. */
  #claimingRows = 0;
  readonly #claimsInFlight = new Set<Promise<void>>();
  /** The last claim returned fewer tasks than asked for: nothing more was due then. */
  #drained = false;
  /** Counts wake-ups, so a claim can tell whether one arrived while it was on the wire. */
  #wakeups = 0;
  /** A tracer provider was registered when the last batch was claimed (see tracerRegistered). */
  #tracing = true;
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
    this.#lowWater = Math.floor(this.#prefetch / 2);
    this.#maxClaimsOnWire = this.#prefetch > 0 ? 2 : 1;
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
        for (const run of this.#inFlight.values()) run.abort();
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

  /**
   * Claims ahead of the slots: a claim goes out as soon as the ready queue, plus what claims on
   * the wire will bring, is down to half the prefetch, so the next batch arrives while the current
   * one still runs. With a prefetch, up to two claims are on the wire at once (SKIP LOCKED keeps
   * their batches disjoint): a claim's round trip is then never a gap in which the slots wait.
   */
  async #runLoop(): Promise<void> {
    while (this.#state === 'running') {
      this.#fill();
      this.#wakeup.clear();
      // After a short claim (nothing more was due) one claim at a time is enough.
      while (this.#state === 'running' && this.#claimsOnWire < (this.#drained ? 1 : this.#maxClaimsOnWire)) {
        const room = this.#claimRoom();
        if (room <= 0) break;
        this.#startClaim(room);
      }
      if (this.#state === 'running') await this.#wakeup.wait(this.#o.pollIntervalMs);
    }
    await Promise.allSettled(this.#claimsInFlight);
  }

  /** How many tasks to claim now (0: not yet). */
  #claimRoom(): number {
    const { slots } = this.#o;
    const ahead = this.#ready.length + this.#claimingRows;
    const room = slots + this.#prefetch - this.#inFlight.size - ahead;
    if (room <= 0) return 0;
    return ahead <= this.#lowWater || this.#inFlight.size + ahead < slots ? room : 0;
  }

  #startClaim(limit: number): void {
    const wakeups = this.#wakeups;
    this.#claimsOnWire += 1;
    this.#claimingRows += limit;
    const claim = this.#claim(limit)
      .then(
        (tasks) => {
          // Claimed while stop() began: these go back with the rest of the ready queue.
          for (const task of tasks) this.#ready.push(task);
          this.#drained = tasks.length < limit;
        },
        (error: unknown) => {
          this.#o.log.error({ err: error }, 'claim failed; retrying after the poll interval');
          this.#drained = true;
        },
      )
      .finally(() => {
        this.#claimsOnWire -= 1;
        this.#claimingRows -= limit;
        this.#claimsInFlight.delete(claim);
        this.#fill();
        // A full claim: more may be due right now. A short or failed one: wait for a wake-up,
        // unless one came while it was on the wire (a NOTIFY about a task its snapshot missed).
        if (!this.#drained || this.#wakeups !== wakeups) this.#wake();
      });
    this.#claimsInFlight.add(claim);
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
    this.#tracing = tracerRegistered();
    recordClaimed(this.metrics, tasks, now);
    if (tasks.length > 0) {
      this.#o.onClaim?.(tasks);
      announceClaimed(this.#o.handlers, tasks, this.#o.pool, this.#o.log);
    }
    return tasks;
  }

  #dispatch(task: ClaimedTask): TaskRun {
    const { pool, clock, log } = this.#o;
    const run = new TaskRun(task, pool, clock, this.id, log, this.#onCompletedInHandler);
    this.#inFlight.set(task.id, run);
    this.#perOrganisation.set(
      task.organisation_id,
      (this.#perOrganisation.get(task.organisation_id) ?? 0) + 1,
    );
    this.metrics.inFlight.set(this.#inFlight.size);
    run.done = this.#execute(run);
    return run;
  }

  readonly #onCompletedInHandler = (id: string): void => {
    this.#completedInHandler.add(id);
  };

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
    if (this.#claimRoom() > 0) this.#wake();
  }

  async #execute(run: TaskRun): Promise<void> {
    const { task } = run;
    const endTimer = this.metrics.duration.startTimer({ type: task.type });
    try {
      const handler = this.#o.handlers[task.type];
      if (!handler) throw new PermanentError(`no handler for task type ${task.type}`);
      await runHandler(run, handler, this.#tracing);
      if (!run.completed) {
        // The slot is free as soon as the handler is done; the completion joins the next batch
        // statement and the task stays leased (and heartbeated) until it is recorded.
        const completion = this.#completions.call('all', task);
        this.#completing.set(task.id, completion);
        this.#freeSlot(task.id);
        try {
          await completion;
        } finally {
          this.#completing.delete(task.id);
        }
      }
      this.metrics.succeeded.inc({ type: task.type });
      if (this.#o.log.isLevelEnabled('debug')) run.log.debug('task succeeded');
    } catch (error) {
      const failure = {
        pool: this.#o.pool,
        workerId: this.id,
        now: this.#o.clock.now(),
        stopping: this.#state === 'stopping',
        backoff: this.#o.backoff,
        metrics: this.metrics,
        log: run.log,
      };
      await settleFailure(task, error, failure).catch((e) =>
        run.log.error(
          { err: e },
          'could not record the task outcome; its lease will expire and it will run again',
        ),
      );
    } finally {
      this.#completedInHandler.delete(task.id);
      this.#freeSlot(task.id);
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
  }, COMPLETION_BATCH);

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
    this.#wakeups += 1;
    this.#wakeup.wake();
  }
}
