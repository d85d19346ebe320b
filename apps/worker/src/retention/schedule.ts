import { runAsSystem } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

/**
 * Enqueues an apply_retention task for every active organisation that has none waiting
 * (app.enqueue_retention_tasks, SECURITY DEFINER; its dedupe key makes extra calls no-ops, so
 * several workers may all run this timer).
 */
export async function enqueueRetentionTasks(pool: Pool, now: Date): Promise<number> {
  return await runAsSystem(
    'retention schedule',
    async () => {
      const { rows } = await pool.query<{ n: number }>('SELECT app.enqueue_retention_tasks($1) AS n', [now]);
      return rows[0]?.n ?? 0;
    },
    { logger: { info: () => {}, warn: () => {} } },
  );
}

/** Runs the enqueue now and then every `intervalMs`; returns the stop function. */
export function startRetentionSchedule(
  pool: Pool,
  clock: Clock,
  intervalMs: number,
  log: Logger,
): () => void {
  const tick = () =>
    enqueueRetentionTasks(pool, clock.now())
      .then((n) => n > 0 && log.info({ organisations: n }, 'retention tasks enqueued'))
      .catch((error) => log.warn({ err: error }, 'retention schedule failed'));
  void tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
