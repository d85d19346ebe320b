import pg from 'pg';
import pino from 'pino';
import type { ManualClock } from '../../src/clock.js';
import { outreachHandlers } from '../../src/handlers.js';
import { createSmtpMailer, type Mailer } from '../../src/outreach/mailer.js';
import type { TaskHandlers } from '../../src/queue/types.js';
import { Worker, type WorkerOptions } from '../../src/queue/worker.js';
import { testMailServices } from './mailboxes.js';

export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface TestWorker {
  worker: Worker;
  pool: pg.Pool;
  mailer: Mailer;
  clock: ManualClock;
  close(): Promise<void>;
}

export const PUBLIC_BASE_URL = 'https://pf.example.test';

/** A worker as prospectflow_worker with a manual clock; drive it with worker.drain(). */
export function testWorker(
  workerUrl: string,
  smtpUrl: string,
  clock: ManualClock,
  options: Partial<WorkerOptions> & { handlers?: TaskHandlers } = {},
): TestWorker {
  const pool = new pg.Pool({ connectionString: workerUrl, max: (options.slots ?? 8) + 3 });
  const mailer = createSmtpMailer({ url: smtpUrl, maxConnections: 5 });
  const worker = new Worker({
    pool,
    clock,
    log: silent,
    slots: 8,
    leaseSeconds: 30,
    pollIntervalMs: 200,
    pollOnly: true,
    handlers: outreachHandlers({
      mailer,
      mail: testMailServices(),
      publicBaseUrl: PUBLIC_BASE_URL,
      variantSeed: 'test-seed',
    }),
    ...options,
  });
  return {
    worker,
    pool,
    mailer,
    clock,
    async close() {
      await worker.stop(1000);
      mailer.close();
      await pool.end();
    },
  };
}

/** Polls `check` until it returns true (conditions, never durations, are asserted). */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
