import { buffer } from 'node:stream/consumers';
import { ObjectNotFoundError, type ObjectStorage } from '@prospectflow/object-storage';
import { statusKey } from './archives.js';

export const JOBS = ['backup', 'restore-check'] as const;
export type Job = (typeof JOBS)[number];

/**
 * The last result of a job, stored in the bucket beside the archives: the bucket is the one
 * place both schedulers (compose's `serve`, Kubernetes CronJobs) share, and what `serve` exports
 * as metrics. Holds no secret: messages come from the scripts, which redact URLs.
 */
export interface JobStatus {
  job: Job;
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  /** finishedAt of the last successful run (carried over by failed runs). */
  lastSuccessAt: string | null;
  /** The archive uploaded (backup) or restored (restore-check). */
  archive?: string;
  bytes?: number;
  /** Tables with data in the archive (restore-check: restored and validated). */
  tables?: number;
  error?: string;
}

export async function readStatus(
  storage: ObjectStorage,
  prefix: string,
  job: Job,
): Promise<JobStatus | null> {
  try {
    return JSON.parse(
      (await buffer(await storage.get(statusKey(prefix, job)))).toString('utf8'),
    ) as JobStatus;
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
}

export async function writeStatus(storage: ObjectStorage, prefix: string, status: JobStatus): Promise<void> {
  await storage.put(statusKey(prefix, status.job), `${JSON.stringify(status, null, 2)}\n`, {
    contentType: 'application/json',
  });
}

/**
 * Runs a job and records its result, success or failure, carrying `lastSuccessAt` over from the
 * previous status. The job's error is rethrown after the status is written.
 */
export async function recordRun<T extends Partial<JobStatus>>(
  storage: ObjectStorage,
  prefix: string,
  job: Job,
  run: () => Promise<T>,
): Promise<JobStatus> {
  const started = new Date();
  let details: Partial<JobStatus> = {};
  let failure: unknown;
  try {
    details = await run();
  } catch (error) {
    failure = error;
    details = (error as { details?: Partial<JobStatus> }).details ?? {};
  }
  const finished = new Date();
  const previous = await readStatus(storage, prefix, job).catch(() => null);
  const status: JobStatus = {
    ...details,
    job,
    ok: failure === undefined,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    seconds: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
    lastSuccessAt: failure === undefined ? finished.toISOString() : (previous?.lastSuccessAt ?? null),
    ...(failure === undefined ? {} : { error: (failure as Error).message }),
  };
  await writeStatus(storage, prefix, status);
  if (failure !== undefined) throw failure;
  return status;
}

/** A failure that still knows what it was working on (recorded in the status). */
export class JobError extends Error {
  constructor(
    message: string,
    readonly details: Partial<JobStatus> = {},
  ) {
    super(message);
    this.name = 'JobError';
  }
}
