/**
 * No-op task throughput (claim + complete) of the ProspectFlow worker with 1, 4 and 16 slots vs
 * graphile-worker 0.16.6 at the same concurrency, on the same database, in the same run.
 * Target: ratio ≥ 1.0 (ours / graphile-worker, unbatched). Run:
 *   pnpm --filter @prospectflow/worker exec tsx ../../bench/worker-throughput.ts [jobs]
 *
 * How the comparison is kept fair:
 * - same PostgreSQL server and database, same process, alternating runs at each slot count;
 * - same concurrency: our `slots` = graphile-worker's `concurrency`; each side gets a pool of
 *   slots + 3 connections;
 * - same no-op: an async handler that only counts; jobs are spread over the organisations for
 *   us (graphile-worker has none) and all due when the clock starts;
 * - graphile-worker runs with its defaults, which is what "unbatched" means here: one get_job
 *   per job and one complete_job per job (no localQueue, no completeJobBatchDelay). It connects
 *   as the superuser (no RLS); we connect as prospectflow_worker, claim through the SECURITY
 *   DEFINER system path and run each task inside its organisation's tenant context;
 * - ours runs with its defaults too (prefetch = slots): it claims free slots plus as many again
 *   ahead, in one statement, and completes every task that finished while the previous
 *   completion statement was on the wire in one statement — that batching is the design being
 *   measured, not a bench setting.
 */
import { ManualClock } from '../apps/worker/src/clock.js';
import { createLogger } from '../apps/worker/src/logger.js';
import { Worker } from '../apps/worker/src/queue/worker.js';
import { importFromWorker, pg, prepareWorkerBenchDatabase } from './worker-support.js';

const JOBS = Number(process.argv[2] ?? 2000);
const SLOTS = [1, 4, 16];
const gw = await importFromWorker<typeof import('graphile-worker')>('graphile-worker');
const db = await prepareWorkerBenchDatabase('throughput');
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 4 });
// pool.end() resolves before the server has closed every connection; the teardown's DROP DATABASE
// … WITH (FORCE) may then terminate one, which an idle client reports as an 'error' event.
const ignoreTeardownErrors = (p: InstanceType<typeof pg.Pool>) => p.on('error', () => {});
ignoreTeardownErrors(admin);
const log = createLogger('warn');

async function ours(slots: number): Promise<number> {
  await admin.query(
    `INSERT INTO outreach.tasks (organisation_id, type, run_at)
     SELECT ($1::uuid[])[1 + (n % array_length($1::uuid[], 1))], 'noop', now() - interval '1 second' FROM generate_series(1, $2::int) n`,
    [db.organisations, JOBS],
  );
  const pool = new pg.Pool({ connectionString: db.workerUrl, max: slots + 3 });
  ignoreTeardownErrors(pool);
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const worker = new Worker({
    pool,
    clock: new ManualClock(new Date(Date.now() + 60_000)),
    log,
    slots,
    leaseSeconds: 60,
    pollIntervalMs: 1000,
    pollOnly: true,
    handlers: {
      noop: async () => {
        if (++done === JOBS) setImmediate(finish);
      },
    },
  });
  const started = performance.now();
  await worker.start();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.stop(5000);
  await pool.end();
  await admin.query(`DELETE FROM outreach.tasks`);
  return JOBS / seconds;
}

async function graphile(slots: number): Promise<number> {
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const pgPool = new pg.Pool({ connectionString: db.adminUrl, max: slots + 3 });
  ignoreTeardownErrors(pgPool);
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
  });
  const started = performance.now();
  // Jobs added after start, like ours, in one statement.
  await admin.query(
    `SELECT graphile_worker.add_jobs(array_agg(('noop', '{}'::json, null, null, null, null, null, null)::graphile_worker.job_spec))
     FROM generate_series(1, $1::int)`,
    [JOBS],
  );
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  await pgPool.end();
  return JOBS / seconds;
}

try {
  await gw.runMigrations({ connectionString: db.adminUrl, logger: new gw.Logger(() => () => {}) });
  console.log(
    `PostgreSQL ${db.serverVersion}, ${JOBS} no-op jobs per run, ${db.organisations.length} organisations`,
  );
  await ours(4); // warm-up
  await graphile(4);
  for (const slots of SLOTS) {
    const a = await ours(slots);
    const b = await graphile(slots);
    console.log(
      `slots ${String(slots).padStart(2)}: prospectflow ${a.toFixed(0)} jobs/s, graphile-worker 0.16.6 ${b.toFixed(0)} jobs/s → ratio ${(a / b).toFixed(2)} (target ≥ 1.0)`,
    );
  }
} finally {
  await admin.end();
  await db.stop();
}
