/**
 * No-op task throughput (claim + complete) of the ProspectFlow worker with 1, 4 and 16 slots vs
 * graphile-worker 0.17.3 at the same concurrency, on the same database, in the same run — both in
 * its defaults and in its best documented configuration (worker.graphile.org/docs/performance:
 * local queue + batched job completion). Targets: ≥ 1.0 vs the defaults, ≥ 1.5 vs the best
 * configuration at 16 slots. Run:
 *   pnpm --filter bench worker-throughput [jobs] [rounds] [slot counts, e.g. 1,4,16]
 *
 * How the comparison is kept fair:
 * - same PostgreSQL server and database, same process, interleaved runs at each slot count:
 *   `rounds` rounds (default 5) of ours, graphile-worker, ours with prefetch, graphile-worker best;
 *   the ratio printed is the median of the per-round ratios (the machine is shared, and the two
 *   runs of a round see about the same load);
 * - same concurrency: our `slots` = graphile-worker's `concurrency`; each side gets a pool of
 *   slots + 3 connections;
 * - same table state: each side's queue table is VACUUMed after its run (autovacuum may be off on
 *   a test server; without it every run inherits the dead rows of all the runs before it);
 * - same no-op: an async handler that only counts; jobs are spread over the organisations for
 *   us (graphile-worker has none) and all due when the clock starts;
 * - same start: both workers are running and idle (ours LISTENs, as graphile-worker does) when
 *   the clock starts, and each side's time includes adding its jobs in one statement (until
 *   2026-12-04 ours inserted its tasks before the clock and graphile-worker after, which flattered
 *   ours by ≈ 20 % in the best-configuration comparison);
 * - graphile-worker "defaults": one get_job per job and one complete_job per job. "best": the
 *   configuration its performance page documents for throughput — `localQueue: { size }` (jobs
 *   fetched in batches; the docs' own run used 500, their release notes recommend concurrency + 1;
 *   we take the larger, 500) and `completeJobBatchDelay: 0` / `failJobBatchDelay: 0` (completions
 *   batched). It connects as the superuser (no RLS); we connect as prospectflow_worker, claim
 *   through the SECURITY DEFINER system path and run each task inside its organisation's tenant
 *   context;
 * - ours runs with its defaults (prefetch = slots), and against graphile-worker's local queue with
 *   a prefetch of the same size (LOCAL_QUEUE): it claims free slots plus as many again
 *   ahead, in one statement, and completes every task that finished while the previous
 *   completion statement was on the wire in one statement — that batching is the design being
 *   measured, not a bench setting.
 *
 * It also prints each side's CPU per 1,000 jobs (medians over the rounds): this process, and the
 * PostgreSQL backends that did the work (the side's own connections plus the one that adds the jobs,
 * read from /proc when the server runs on this machine). Both sides are CPU-bound on a small
 * machine, so that line says what a ratio can reach: 1.5× needs about two thirds of the other side's
 * CPU per job.
 */

import { createLogger, ManualClock, Worker } from '@prospectflow/worker/bench';
import * as gw from 'graphile-worker';
import { backendCpuMs, median, pg, prepareWorkerBenchDatabase } from './worker-support.js';

const JOBS = Number(process.argv[2] ?? 2000);
const ROUNDS = Number(process.argv[3] ?? 5);
const SLOTS = (process.argv[4] ?? '1,4,16').split(',').map(Number);
/** graphile-worker's documented throughput run used a local queue of 500; ours gets the same prefetch. */
const LOCAL_QUEUE = 500;
const db = await prepareWorkerBenchDatabase('throughput');
/** One admin connection adds every run's jobs, so its backend's CPU can be read per run. */
const ADMIN_APP = 'bench-admin';
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 1, application_name: ADMIN_APP });
// pool.end() resolves before the server has closed every connection; the teardown's DROP DATABASE
// … WITH (FORCE) may then terminate one, which an idle client reports as an 'error' event.
const ignoreTeardownErrors = (p: InstanceType<typeof pg.Pool>) => p.on('error', () => {});
ignoreTeardownErrors(admin);
const log = createLogger('warn');

/** One run: jobs per second, and CPU per 1,000 jobs in this process and in PostgreSQL's backends. */
interface Run {
  rate: number;
  processMs: number;
  backendMs: number | undefined;
}

/**
 * Times one side's run from `timed()` (which adds the jobs and waits for the last), then `stop()`s
 * it. CPU is that of this process, and of the database backends that did the work: the side's own
 * connections (tagged with `app` as application_name, opened in this run, so all of their CPU) and
 * the admin connection that adds the jobs (its CPU during the run). On a server not on this machine
 * the backends' figure is undefined.
 */
async function measured(app: string, timed: () => Promise<void>, stop: () => Promise<void>): Promise<Run> {
  const pids = async (name: string) =>
    (
      await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
        [name],
      )
    ).rows.map((r) => r.pid);
  const inserter = await pids(ADMIN_APP);
  const inserter0 = backendCpuMs(inserter);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await timed();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const inserter1 = backendCpuMs(inserter);
  const own = backendCpuMs(await pids(app));
  await stop();
  const perThousand = (ms: number) => (ms / JOBS) * 1000;
  return {
    rate: JOBS / seconds,
    processMs: perThousand((cpu.user + cpu.system) / 1000),
    backendMs:
      own === undefined || inserter0 === undefined || inserter1 === undefined
        ? undefined
        : perThousand(own + inserter1 - inserter0),
  };
}

/** `prefetch`: claimed tasks held ready beyond the slots (our local queue); default max(slots, 4). */
async function ours(slots: number, prefetch?: number): Promise<Run> {
  const app = 'bench-prospectflow';
  const pool = new pg.Pool({ connectionString: db.workerUrl, max: slots + 3, application_name: app });
  ignoreTeardownErrors(pool);
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const listenUrl = new URL(db.workerUrl);
  listenUrl.searchParams.set('application_name', app);
  const worker = new Worker({
    pool,
    clock: new ManualClock(new Date(Date.now() + 60_000)),
    log,
    slots,
    ...(prefetch === undefined ? {} : { prefetch }),
    leaseSeconds: 60,
    pollIntervalMs: 1000,
    // Woken by the insert's NOTIFY, as graphile-worker is by add_jobs'.
    pollOnly: false,
    listenUrl: listenUrl.href,
    handlers: {
      noop: async () => {
        if (++done === JOBS) setImmediate(finish);
      },
    },
  });
  await worker.start();
  // The clock starts with the insert, as graphile-worker's starts with add_jobs: both workers are
  // running and idle, and each side's time includes adding its jobs.
  return await measured(
    app,
    async () => {
      await admin.query(
        `INSERT INTO outreach.tasks (organisation_id, type, run_at)
         SELECT ($1::uuid[])[1 + (n % array_length($1::uuid[], 1))], 'noop', now() - interval '1 second' FROM generate_series(1, $2::int) n`,
        [db.organisations, JOBS],
      );
      await finished;
    },
    async () => {
      await worker.stop(5000);
      await pool.end();
      await admin.query(`DELETE FROM outreach.tasks`);
      await admin.query(`VACUUM outreach.tasks`);
    },
  );
}

async function graphile(slots: number, best: boolean): Promise<Run> {
  const app = 'bench-graphile-worker';
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const pgPool = new pg.Pool({ connectionString: db.adminUrl, max: slots + 3, application_name: app });
  ignoreTeardownErrors(pgPool);
  // graphile-worker wants each client's errors handled too (else it warns once per connection).
  pgPool.on('connect', (client) => client.on('error', () => {}));
  const runner = await gw.run({
    pgPool,
    concurrency: slots,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: new gw.Logger(() => () => {}),
    taskList: {
      noop: async () => {
        if (++done === JOBS) setImmediate(finish);
      },
    },
    ...(best
      ? {
          preset: {
            worker: { localQueue: { size: LOCAL_QUEUE }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
          },
        }
      : {}),
  });
  return await measured(
    app,
    async () => {
      // Jobs added after start, like ours, in one statement.
      await admin.query(
        `SELECT graphile_worker.add_jobs(array_agg(('noop', '{}'::json, null, null, null, null, null, null)::graphile_worker.job_spec))
         FROM generate_series(1, $1::int)`,
        [JOBS],
      );
      await finished;
    },
    async () => {
      await runner.stop();
      await pgPool.end();
      await admin.query(`VACUUM graphile_worker._private_jobs`);
    },
  );
}

try {
  await gw.runMigrations({ connectionString: db.adminUrl, logger: new gw.Logger(() => () => {}) });
  console.log(
    `PostgreSQL ${db.serverVersion}, ${JOBS} no-op jobs per run, ${db.organisations.length} organisations`,
  );
  await ours(4); // warm-up
  await graphile(4, false);
  await graphile(4, true);
  for (const slots of SLOTS) {
    const r = { a: [] as Run[], b: [] as Run[], a2: [] as Run[], c: [] as Run[] };
    for (let round = 0; round < ROUNDS; round++) {
      r.a.push(await ours(slots));
      r.b.push(await graphile(slots, false));
      r.a2.push(await ours(slots, LOCAL_QUEUE));
      r.c.push(await graphile(slots, true));
    }
    const fmt = (runs: Run[]) => runs.map((x) => x.rate.toFixed(0)).join('/');
    const ratios = (xs: Run[], ys: Run[]) => xs.map((x, i) => x.rate / ys[i]!.rate);
    const show = (xs: number[]) =>
      `${median(xs).toFixed(2)} (rounds ${xs.map((x) => x.toFixed(2)).join('/')})`;
    // Medians over the rounds: where the CPU goes explains a ratio the rates only show.
    const cpu = (runs: Run[]) => {
      const backends = runs.map((x) => x.backendMs);
      const db = backends.every((x) => x !== undefined)
        ? `PostgreSQL ${median(backends as number[]).toFixed(0)}`
        : 'PostgreSQL n/a (server not on this machine)';
      return `this process ${median(runs.map((x) => x.processMs)).toFixed(0)}, ${db}`;
    };
    console.log(
      `slots ${String(slots).padStart(2)}: defaults — prospectflow ${fmt(r.a)} jobs/s, graphile-worker 0.17.3 ${fmt(r.b)} jobs/s → median ratio ${show(ratios(r.a, r.b))} (target ≥ 1.0)`,
    );
    console.log(
      `          local queue ${LOCAL_QUEUE} + batched completion — prospectflow (prefetch ${LOCAL_QUEUE}) ${fmt(r.a2)} jobs/s, graphile-worker ${fmt(r.c)} jobs/s → median ratio ${show(ratios(r.a2, r.c))}${slots === 16 ? ' (target ≥ 1.5)' : ''}`,
    );
    console.log(
      `          CPU per 1,000 jobs (ms, median): defaults — prospectflow ${cpu(r.a)}; graphile-worker ${cpu(r.b)}`,
    );
    console.log(`          local queue — prospectflow ${cpu(r.a2)}; graphile-worker ${cpu(r.c)}`);
  }
} finally {
  await admin.end();
  await db.stop();
}
