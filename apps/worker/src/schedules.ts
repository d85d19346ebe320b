import { runAsSystem } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';
import type { Clock } from './clock.js';
import { type Logger, quietSystemScope } from './logger.js';

/**
 * Timers that enqueue one task per organisation through a SECURITY DEFINER SQL function; each
 * function's dedupe key makes extra calls no-ops, so several workers may all run the same timer.
 */
async function enqueueAsSystem(pool: Pool, name: string, sql: string, values: unknown[]): Promise<number> {
  return await runAsSystem(
    name,
    async () => {
      const { rows } = await pool.query<{ n: number }>(sql, values);
      return rows[0]?.n ?? 0;
    },
    quietSystemScope,
  );
}

/** An apply_retention task for every active organisation that has none waiting. */
export const enqueueRetentionTasks = (pool: Pool, now: Date) =>
  enqueueAsSystem(pool, 'retention schedule', 'SELECT app.enqueue_retention_tasks($1) AS n', [now]);

/**
 * A check_sending_domains task for every active organisation with a proved sending domain whose
 * proof was last looked up more than `maxAgeMs` ago.
 */
export const enqueueDomainChecks = (pool: Pool, now: Date, maxAgeMs: number) =>
  enqueueAsSystem(pool, 'domain check schedule', 'SELECT app.enqueue_domain_checks($1, $2) AS n', [
    now,
    new Date(now.getTime() - maxAgeMs),
  ]);

/** How often the domain check timer runs at most (a domain is due at most this late). */
export const DOMAIN_CHECK_TICK_MS = 10 * 60_000;

/** Runs `enqueue` now and then every `everyMs`; logs what it added; returns the stop function. */
export function startSchedule(
  what: string,
  everyMs: number,
  clock: Clock,
  enqueue: (now: Date) => Promise<number>,
  log: Logger,
): () => void {
  const tick = () =>
    enqueue(clock.now())
      .then((n) => n > 0 && log.info({ organisations: n }, `${what} tasks enqueued`))
      .catch((error) => log.warn({ err: error }, `${what} schedule failed`));
  void tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
