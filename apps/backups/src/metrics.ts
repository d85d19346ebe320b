import type { ObjectStorage } from '@prospectflow/object-storage';
import { Gauge, Registry } from 'prom-client';
import { type Archive, listArchives } from './archives.js';
import { JOBS, type Job, type JobStatus, readStatus } from './status.js';

interface Snapshot {
  up: boolean;
  statuses: Partial<Record<Job, JobStatus>>;
  complete: Archive[];
}

const seconds = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);
/** Label values follow Prometheus naming (`restore_check`); `task`, since `job` is Prometheus' own. */
const taskLabel = (job: Job) => job.replace('-', '_');

/**
 * Backup metrics read from the bucket at scrape time (cached `cacheMs`, one read for every gauge):
 * the status objects the jobs write and the archives themselves, so a scheduler that stopped
 * shows as an ageing latest archive and a bucket that cannot be read as storage_up 0.
 */
export function backupMetrics(storage: ObjectStorage, prefix: string, cacheMs = 10_000): Registry {
  const registry = new Registry();
  let cached: { at: number; value: Promise<Snapshot> } | undefined;
  const read = () => {
    if (!cached || Date.now() - cached.at > cacheMs) {
      cached = { at: Date.now(), value: snapshot(storage, prefix) };
    }
    return cached.value;
  };
  const perTask = (name: string, help: string, pick: (s: JobStatus) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['task'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const { statuses } = await read();
        for (const job of JOBS) {
          const value = statuses[job] && pick(statuses[job]);
          if (value !== undefined && Number.isFinite(value)) this.set({ task: taskLabel(job) }, value);
        }
      },
    });
  const single = (name: string, help: string, pick: (s: Snapshot) => number | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.reset();
        const value = pick(await read());
        if (value !== undefined) this.set(value);
      },
    });
  single('prospectflow_backup_storage_up', 'Whether the backup bucket could be read at this scrape', (s) =>
    s.up ? 1 : 0,
  );
  perTask('prospectflow_backup_last_run_success', 'Whether the last run succeeded (1) or failed (0)', (s) =>
    s.ok ? 1 : 0,
  );
  perTask('prospectflow_backup_last_run_timestamp_seconds', 'When the last run finished', (s) =>
    seconds(s.finishedAt),
  );
  perTask(
    'prospectflow_backup_last_success_timestamp_seconds',
    'When the last successful run finished',
    (s) => seconds(s.lastSuccessAt),
  );
  perTask('prospectflow_backup_last_run_duration_seconds', 'How long the last run took', (s) => s.seconds);
  perTask(
    'prospectflow_backup_last_run_tables',
    'Tables with data in the archive of the last run (restore_check: restored and validated)',
    (s) => s.tables,
  );
  single('prospectflow_backup_archives', 'Complete archives (archive + checksum) in the bucket', (s) =>
    s.up ? s.complete.length : undefined,
  );
  single(
    'prospectflow_backup_latest_archive_timestamp_seconds',
    'When the newest complete archive was taken',
    (s) => (s.complete[0] ? s.complete[0].takenAt.getTime() / 1000 : undefined),
  );
  single(
    'prospectflow_backup_latest_archive_bytes',
    'Size of the newest complete archive',
    (s) => s.complete[0]?.size,
  );
  return registry;
}

async function snapshot(storage: ObjectStorage, prefix: string): Promise<Snapshot> {
  try {
    const [{ archives }, ...statuses] = await Promise.all([
      listArchives(storage, prefix),
      ...JOBS.map((job) => readStatus(storage, prefix, job)),
    ]);
    const byJob: Partial<Record<Job, JobStatus>> = {};
    JOBS.forEach((job, i) => {
      if (statuses[i]) byJob[job] = statuses[i];
    });
    return { up: true, statuses: byJob, complete: archives.filter((a) => a.complete) };
  } catch {
    return { up: false, statuses: {}, complete: [] };
  }
}
