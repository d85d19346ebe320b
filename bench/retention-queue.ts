/**
 * Does the task queue stay small under a sustained load? Rounds of N due tasks go through the
 * worker's real claim/complete path (the same row lifecycle as send_step: pending → running →
 * succeeded with completed_at; a noop handler so the figure is the queue's, not SMTP's). One
 * database keeps everything (the baseline: no retention), the other runs the retention task
 * (apply_retention, finished-task retention 0 days, every round) — same process, same server,
 * alternating rounds. Both get a plain VACUUM of outreach.tasks after each round (what
 * autovacuum does under load), so the size reflects what is kept, not vacuum timing.
 * Prints rows and table+index size per round and the ratio retention / baseline at the end.
 * Target: the retained table stops growing (last-round size ≤ 1.2 × mid-run size) while the
 * baseline grows with the load. Run:
 *   pnpm --filter bench retention-queue [rounds] [tasksPerRound]
 */
import { applyRetention, createLogger, enqueueRetentionTasks, Worker } from '@prospectflow/worker/bench';
import { type BenchDatabase, pg, prepareWorkerBenchDatabase } from './worker-support.js';

const ROUNDS = Number(process.argv[2] ?? 20);
const PER_ROUND = Number(process.argv[3] ?? 5000);
const log = createLogger('warn');

interface Side {
  name: string;
  db: BenchDatabase;
  admin: InstanceType<typeof pg.Pool>;
  pool: InstanceType<typeof pg.Pool>;
  worker: Worker;
  retention: boolean;
  sizes: { rows: number; bytes: number }[];
}

async function side(name: string, retention: boolean): Promise<Side> {
  const db = await prepareWorkerBenchDatabase(`retention_${name}`, 10);
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  const pool = new pg.Pool({ connectionString: db.workerUrl, max: 8 });
  for (const p of [admin, pool]) p.on('error', () => {});
  if (retention) {
    await admin.query(
      `INSERT INTO iam.privacy_settings (organisation_id, finished_tasks_retention_days) SELECT unnest($1::uuid[]), 0`,
      [db.organisations],
    );
  }
  const worker = new Worker({
    pool,
    // Real time, a minute ahead: the retention cut-off ("now" minus 0 days) then covers tasks the
    // database stamped completed (its own now()) during the round just run.
    clock: { now: () => new Date(Date.now() + 60_000) },
    log,
    slots: 4,
    leaseSeconds: 60,
    pollIntervalMs: 1000,
    pollOnly: true,
    handlers: {
      noop: async () => {},
      apply_retention: applyRetention({ batchSize: 1000, maxBatches: 1000 }),
    },
  });
  return { name, db, admin, pool, worker, retention, sizes: [] };
}

async function round(s: Side): Promise<void> {
  await s.admin.query(
    `INSERT INTO outreach.tasks (organisation_id, type, run_at)
     SELECT ($1::uuid[])[1 + (n % array_length($1::uuid[], 1))], 'noop', now() - interval '1 second'
       FROM generate_series(1, $2::int) n`,
    [s.db.organisations, PER_ROUND],
  );
  await s.worker.drain();
  if (s.retention) {
    await enqueueRetentionTasks(s.pool, new Date(Date.now() - 1000));
    await s.worker.drain();
  }
  await s.admin.query('VACUUM outreach.tasks');
  const { rows } = await s.admin.query<{ rows: number; bytes: string }>(
    `SELECT (SELECT count(*) FROM outreach.tasks)::int AS rows, pg_total_relation_size('outreach.tasks') AS bytes`,
  );
  s.sizes.push({ rows: rows[0]!.rows, bytes: Number(rows[0]!.bytes) });
}

const baseline = await side('baseline', false);
const retained = await side('retained', true);
console.log(`PostgreSQL ${baseline.db.serverVersion}; ${ROUNDS} rounds of ${PER_ROUND} tasks`);
console.log('round | baseline rows | baseline MiB | retention rows | retention MiB');
const mib = (b: number) => (b / 1024 / 1024).toFixed(2);
for (let r = 1; r <= ROUNDS; r++) {
  // Alternate which side goes first so neither always runs on a warmer cache.
  for (const s of r % 2 ? [baseline, retained] : [retained, baseline]) await round(s);
  const b = baseline.sizes.at(-1)!;
  const k = retained.sizes.at(-1)!;
  console.log(
    `${String(r).padStart(5)} | ${String(b.rows).padStart(13)} | ${mib(b.bytes).padStart(12)} | ${String(k.rows).padStart(14)} | ${mib(k.bytes).padStart(13)}`,
  );
}
const last = (s: Side) => s.sizes.at(-1)!;
const mid = retained.sizes[Math.floor(ROUNDS / 2) - 1]!;
console.log(
  `retention/baseline size ratio at the end: ${(last(retained).bytes / last(baseline).bytes).toFixed(3)} ` +
    `(rows ${last(retained).rows} vs ${last(baseline).rows})`,
);
const growth = last(retained).bytes / mid.bytes;
console.log(
  `retained table, last round / mid-run size: ${growth.toFixed(2)} (target ≤ 1.2: ${growth <= 1.2 ? 'met' : 'NOT met'})`,
);
for (const s of [baseline, retained]) {
  await s.worker.stop(1000);
  await s.pool.end();
  await s.admin.end();
  await s.db.stop();
}
