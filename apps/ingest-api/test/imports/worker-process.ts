import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { roleUrl } from '@prospectflow/db-schema';
import { CHILD_GUARD_ARGS, watchChildStderr } from '@prospectflow/testing/setup';
import type { Env } from '../../src/config.js';
import type { TestApp } from '../helpers/app.js';

/** apps/worker, whose process runs the imports the API queues. */
const WORKER_DIR = fileURLToPath(new URL('../../../worker/', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful) or SIGKILL, then waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * A real worker process (apps/worker/src/main.ts through tsx) on the app's database, as
 * prospectflow_worker, reading uploads from the app's object storage. Only imports matter here:
 * no retention schedule, short leases so a killed worker's import is retried quickly. It runs with
 * the overlap guard (CHILD_GUARD_ARGS).
 */
export function spawnWorker(t: Pick<TestApp, 'database' | 'env'>, env: Env = {}): WorkerProcess {
  // The bucket settings and its credentials (the AWS SDK reads AWS_* itself).
  const storage = Object.fromEntries(
    Object.entries(t.env).filter(([name]) => name.startsWith('STORAGE_') || name.startsWith('AWS_')),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', ...CHILD_GUARD_ARGS, 'src/main.ts'], {
    cwd: WORKER_DIR,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
      WORKER_DATABASE_URL: roleUrl(t.database.adminUrl, 'worker'),
      WORKER_METRICS_PORT: '0',
      WORKER_POLL_INTERVAL_MS: '100',
      WORKER_RETENTION_INTERVAL_MS: '0',
      WORKER_SHUTDOWN_GRACE_MS: '2000',
      // Short, so a killed worker's import is retried soon; not so short that a worker slowed by a
      // loaded machine loses the lease of an import it is still running (3 s did, on PG15 in CI).
      IMPORT_LEASE_SECONDS: '10',
      IMPORT_RETRY_BASE_MS: '200',
      ...(t.env.PRIVACY_HMAC_KEYS ? { PRIVACY_HMAC_KEYS: t.env.PRIVACY_HMAC_KEYS } : {}),
      ...storage,
      ...env,
    },
    stdio: ['ignore', process.env.TEST_LOG_LEVEL ? 'inherit' : 'ignore', 'pipe'],
  });
  // An overlapping pg query in the worker fails the test that started it.
  watchChildStderr(child.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

const started = new WeakMap<TestApp, WorkerProcess>();

/** One worker process per test app, started on first use and stopped when the app closes. */
export function ensureImportWorker(t: TestApp): void {
  if (started.has(t)) return;
  const worker = spawnWorker(t);
  started.set(t, worker);
  t.onClose(() => worker.stop());
}
