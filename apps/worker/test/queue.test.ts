import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../src/clock.js';
import { ReleasedError } from '../src/queue/errors.js';
import type { ClaimedTask, TaskHandlers } from '../src/queue/types.js';
import { Worker } from '../src/queue/worker.js';
import { createOrg, openTestDb, type TestDb } from './support/db.js';
import { silent, waitUntil } from './support/worker.js';

async function addNoops(admin: pg.Pool, orgs: string[], count: number, extra = ''): Promise<void> {
  await admin.query(
    `INSERT INTO outreach.tasks (organisation_id, type, run_at ${extra ? ', payload' : ''})
     SELECT ($1::uuid[])[1 + (n % array_length($1::uuid[], 1))], 'noop', now() - interval '1 hour' ${extra ? `, '${extra}'::jsonb` : ''}
     FROM generate_series(1, $2::int) n`,
    [orgs, count],
  );
}

describe('task queue', { timeout: 90_000 }, () => {
  let t: TestDb;
  let orgs: string[];
  const pools: pg.Pool[] = [];
  const pool = (max = 8) => {
    const p = new pg.Pool({ connectionString: t.workerUrl, max });
    pools.push(p);
    return p;
  };
  const counts = async () =>
    Object.fromEntries(
      (await t.admin.query(`SELECT status, count(*)::int AS n FROM outreach.tasks GROUP BY status`)).rows.map(
        (r) => [r.status, r.n],
      ),
    );

  beforeAll(async () => {
    t = await openTestDb('queue');
    orgs = [
      await createOrg(t.admin, 'q-one'),
      await createOrg(t.admin, 'q-two'),
      await createOrg(t.admin, 'q-three'),
    ];
  });
  afterAll(async () => {
    for (const p of pools) await p.end();
    await t?.close();
  });

  it('two workers in parallel claim every task exactly once', async () => {
    await addNoops(t.admin, orgs, 600);
    const claims = new Map<string, string[]>();
    const make = (name: string) =>
      new Worker({
        pool: pool(7),
        clock: systemClock,
        log: silent,
        slots: 4,
        leaseSeconds: 30,
        pollIntervalMs: 50,
        pollOnly: true,
        workerId: name,
        handlers: { noop: async () => {} },
        onClaim: (tasks: ClaimedTask[]) => {
          for (const task of tasks) claims.set(task.id, [...(claims.get(task.id) ?? []), name]);
        },
      });
    const a = make('worker-a');
    const b = make('worker-b');
    await Promise.all([a.start(), b.start()]);
    await waitUntil(async () => (await counts()).succeeded === 600, 'all 600 tasks done');
    await Promise.all([a.stop(), b.stop()]);
    expect(claims.size).toBe(600);
    expect([...claims.values()].filter((by) => by.length > 1)).toEqual([]);
    const byWorker: Record<string, number> = {};
    for (const [w] of claims.values()) byWorker[w!] = (byWorker[w!] ?? 0) + 1;
    expect(Object.keys(byWorker).sort()).toEqual(['worker-a', 'worker-b']);
    const attempts = await t.admin.query(`SELECT DISTINCT attempts FROM outreach.tasks`);
    expect(attempts.rows).toEqual([{ attempts: 1 }]);
    await t.admin.query('DELETE FROM outreach.tasks');
  });

  it('LISTEN/NOTIFY wakes an idle worker long before its poll interval', async () => {
    const done: string[] = [];
    const worker = new Worker({
      pool: pool(4),
      listenUrl: t.workerUrl,
      clock: systemClock,
      log: silent,
      slots: 2,
      leaseSeconds: 30,
      pollIntervalMs: 3_600_000, // never polls within this test
      pollOnly: false,
      handlers: { noop: async ({ task }) => void done.push(task.id) },
    });
    await worker.start();
    await waitUntil(() => worker.state === 'running', 'worker running');
    await t.admin.query(`INSERT INTO outreach.tasks (organisation_id, type) VALUES ($1, 'noop')`, [orgs[0]]);
    await waitUntil(() => done.length === 1, 'the notified task to run');
    await worker.stop();
    await t.admin.query('DELETE FROM outreach.tasks');
  });

  it('poll-only mode (pgBouncer transaction pooling) finds tasks without LISTEN', async () => {
    const done: string[] = [];
    const worker = new Worker({
      pool: pool(4),
      clock: systemClock,
      log: silent,
      slots: 2,
      leaseSeconds: 30,
      pollIntervalMs: 50,
      pollOnly: true,
      handlers: { noop: async ({ task }) => void done.push(task.id) },
    });
    await worker.start();
    await addNoops(t.admin, orgs, 5);
    await waitUntil(() => done.length === 5, 'five polled tasks');
    await worker.stop();
    await t.admin.query('DELETE FROM outreach.tasks');
  });

  it('shutdown: in-flight tasks past the grace period are released with their attempt refunded', async () => {
    await addNoops(t.admin, orgs, 3);
    let started = 0;
    const handlers: TaskHandlers = {
      // Blocks until the worker aborts it, like a handler waiting before its side effect.
      noop: ({ signal }) =>
        new Promise((_, reject) => {
          started += 1;
          signal.addEventListener('abort', () => reject(new ReleasedError('shutdown')));
        }),
    };
    const worker = new Worker({
      pool: pool(6),
      clock: systemClock,
      log: silent,
      slots: 3,
      leaseSeconds: 30,
      pollIntervalMs: 50,
      pollOnly: true,
      handlers,
    });
    await worker.start();
    await waitUntil(() => started === 3, 'three tasks in flight');
    await worker.stop(100);
    const { rows } = await t.admin.query(`SELECT status, attempts, locked_by FROM outreach.tasks`);
    expect(rows).toEqual(Array(3).fill({ status: 'pending', attempts: 0, locked_by: null }));
    expect(worker.state).toBe('stopped');
    await t.admin.query('DELETE FROM outreach.tasks');
  });

  it('claim-ahead: tasks claimed but not started are handed back at shutdown, attempt refunded', async () => {
    await addNoops(t.admin, orgs, 6);
    let started = 0;
    let claimed = 0;
    const worker = new Worker({
      pool: pool(4),
      clock: systemClock,
      log: silent,
      slots: 1,
      prefetch: 4,
      leaseSeconds: 30,
      pollIntervalMs: 50,
      pollOnly: true,
      onClaim: (tasks) => {
        claimed += tasks.length;
      },
      handlers: {
        noop: ({ signal }) =>
          new Promise((_, reject) => {
            started += 1;
            signal.addEventListener('abort', () => reject(new ReleasedError('shutdown')));
          }),
      },
    });
    await worker.start();
    await waitUntil(() => started === 1 && claimed === 5, 'one task running, four waiting for the slot');
    expect((await counts()).running).toBe(5);
    await worker.stop(100);
    expect(started).toBe(1);
    const { rows } = await t.admin.query(`SELECT DISTINCT status, attempts, locked_by FROM outreach.tasks`);
    expect(rows).toEqual([{ status: 'pending', attempts: 0, locked_by: null }]);
    await t.admin.query('DELETE FROM outreach.tasks');
  });

  it('leases: a heartbeating worker keeps its task; once it stops heartbeating another worker reclaims it', async () => {
    await addNoops(t.admin, orgs.slice(0, 1), 1);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let runsOfSlow = 0;
    const slowPool = new pg.Pool({ connectionString: t.workerUrl, max: 4 });
    const slow = new Worker({
      pool: slowPool,
      clock: systemClock,
      log: silent,
      slots: 1,
      leaseSeconds: 1,
      heartbeatIntervalMs: 200,
      pollIntervalMs: 50,
      pollOnly: true,
      workerId: 'slow',
      handlers: {
        noop: () => {
          runsOfSlow += 1;
          return held;
        },
      },
    });
    const reclaimed: string[] = [];
    const rescuer = new Worker({
      pool: pool(4),
      clock: systemClock,
      log: silent,
      slots: 1,
      leaseSeconds: 1,
      sweepIntervalMs: 100,
      pollIntervalMs: 50,
      pollOnly: true,
      workerId: 'rescuer',
      handlers: { noop: async ({ task }) => void reclaimed.push(task.id) },
    });
    await slow.start();
    await waitUntil(() => runsOfSlow === 1, 'slow worker holding the task');
    await rescuer.start();
    // Three lease lengths pass while "slow" heartbeats: its lease is renewed, nobody takes the task.
    const db = async () =>
      (await t.admin.query(`SELECT locked_by, heartbeat_at, locked_until FROM outreach.tasks`)).rows[0];
    const firstBeat = (await db()).heartbeat_at.getTime();
    await waitUntil(
      async () => (await db()).heartbeat_at.getTime() >= firstBeat + 3000,
      'three seconds of heartbeats',
    );
    expect((await db()).locked_by).toBe('slow');
    expect(reclaimed).toEqual([]);
    // "slow" loses the database for good (its heartbeats now fail), like a crashed process.
    await slowPool.end();
    await waitUntil(() => reclaimed.length === 1, 'the rescuer to reclaim the task after the lease');
    await waitUntil(
      async () => (await t.admin.query(`SELECT status FROM outreach.tasks`)).rows[0].status === 'succeeded',
      'completion',
    );
    const row = (await t.admin.query(`SELECT status, attempts, last_error FROM outreach.tasks`)).rows[0];
    expect(row.status).toBe('succeeded');
    expect(row.attempts).toBe(2);
    expect(row.last_error).toMatch(/lease of slow expired/);
    release();
    await slow.stop(0);
    await rescuer.stop();
    await t.admin.query('DELETE FROM outreach.tasks');
  });

  it('a task runs only inside its own organisation: other organisations rows are invisible to it', async () => {
    await t.admin.query(
      `INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Mine'), ($2, 'Theirs')`,
      [orgs[0], orgs[1]],
    );
    await t.admin.query(
      `INSERT INTO outreach.tasks (organisation_id, type, run_at) VALUES ($1, 'noop', now() - interval '1 s')`,
      [orgs[0]],
    );
    let seen: string[] = [];
    const p = pool(3);
    const worker = new Worker({
      pool: p,
      clock: new ManualClock(new Date(Date.now() + 60_000)),
      log: silent,
      slots: 1,
      leaseSeconds: 30,
      pollIntervalMs: 50,
      pollOnly: true,
      handlers: {
        noop: async ({ task }) => {
          const { inTenant } = await import('../src/queue/sql.js');
          seen = await inTenant(p, task.organisation_id, async (c) =>
            (await c.query('SELECT name FROM crm.companies')).rows.map((r) => r.name),
          );
        },
      },
    });
    expect(await worker.drain()).toBe(1);
    expect(seen).toEqual(['Mine']);
    await t.admin.query('DELETE FROM outreach.tasks');
  });
});

describe('ops endpoints', () => {
  it('/metrics reports claimed/succeeded counters and queue depth; /health follows the worker state', async () => {
    const t = await openTestDb('ops');
    const org = await createOrg(t.admin, 'ops');
    const p = new pg.Pool({ connectionString: t.workerUrl, max: 4 });
    const { startOpsServer } = await import('../src/http.js');
    const { WorkerMetrics } = await import('../src/metrics.js');
    const { queueStats } = await import('../src/queue/sql.js');
    const worker = new Worker({
      pool: p,
      clock: systemClock,
      log: silent,
      slots: 2,
      leaseSeconds: 30,
      pollIntervalMs: 50,
      pollOnly: true,
      handlers: { noop: async () => {} },
      metrics: new WorkerMetrics(
        () => queueStats(p, new Date()),
        () => ({ total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount }),
      ),
    });
    const ops = await startOpsServer(worker, 0, '127.0.0.1');
    try {
      expect((await fetch(`http://127.0.0.1:${ops.port}/health`)).status).toBe(503);
      await t.admin.query(
        `INSERT INTO outreach.tasks (organisation_id, type, run_at) VALUES ($1, 'noop', now() - interval '1 s'), ($1, 'noop', now() + interval '1 day')`,
        [org],
      );
      await worker.start();
      expect((await fetch(`http://127.0.0.1:${ops.port}/health`)).status).toBe(200);
      await waitUntil(
        async () =>
          (await t.admin.query(`SELECT count(*)::int AS n FROM outreach.tasks WHERE status = 'succeeded'`))
            .rows[0].n === 1,
        'the due task',
      );
      const body = await (await fetch(`http://127.0.0.1:${ops.port}/metrics`)).text();
      expect(body).toMatch(/prospectflow_worker_tasks_claimed_total\{type="noop"\} 1/);
      expect(body).toMatch(/prospectflow_worker_tasks_succeeded_total\{type="noop"\} 1/);
      expect(body).toMatch(/prospectflow_worker_queue_deferred 1/);
      expect(body).toMatch(/prospectflow_worker_queue_lag_seconds_count 1/);
      expect(body).toMatch(/^pg_pool_size [1-9]/m);
      expect(body).toMatch(/^pg_pool_waiting \d+$/m);
      expect(body).toMatch(/^pg_pool_idle \d+$/m);
    } finally {
      await worker.stop();
      await ops.close();
      await p.end();
      await t.close();
    }
  });
});
