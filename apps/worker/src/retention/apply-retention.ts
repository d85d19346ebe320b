import { discardAbandonedUploads } from '@prospectflow/import-engine';
import type { ObjectStorage } from '@prospectflow/object-storage';
import { type RetentionPolicy, retentionRules } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import { SnoozeError } from '../queue/errors.js';
import { inTenant } from '../queue/sql.js';
import type { TaskHandler } from '../queue/types.js';

export interface RetentionDeps {
  /** Rows per batch; each batch is its own short transaction (locks held briefly). */
  batchSize: number;
  /** Full batches per run of the task; when more is due the task runs again right after. */
  maxBatches: number;
  /** Rows removed per rule (Prometheus counter). */
  onRemoved?: (rule: string, rows: number) => void;
  /** The import uploads' storage: what a dead import worker left there is removed (always, not a policy). */
  uploads?: ObjectStorage;
}

/** The organisation's policy; the settings row is created with the column defaults when missing. */
export async function readPolicy(
  client: TenantClient,
): Promise<RetentionPolicy & { retention_enabled: boolean }> {
  await client.query(
    'INSERT INTO iam.privacy_settings DEFAULT VALUES ON CONFLICT (organisation_id) DO NOTHING',
  );
  const { rows } = await client.query<RetentionPolicy & { retention_enabled: boolean }>(
    `SELECT people_retention_days, open_events_retention_months, finished_tasks_retention_days,
            import_error_values_retention_days, audit_retention_days, retention_enabled
       FROM iam.privacy_settings`,
  );
  return rows[0]!;
}

/**
 * apply_retention: one organisation's retention rules, each in batches (loop until a batch comes
 * back short). Enqueued per organisation by the retention schedule (app.enqueue_retention_tasks).
 */
export function applyRetention(deps: RetentionDeps): TaskHandler {
  return async (ctx) => {
    const { task, pool, clock } = ctx;
    const policy = await inTenant(pool, task.organisation_id, readPolicy);
    const removed: Record<string, number> = {};
    if (deps.uploads) {
      const n = await discardAbandonedUploads(pool, deps.uploads, task.organisation_id);
      if (n > 0) {
        removed.abandoned_uploads = n;
        deps.onRemoved?.('abandoned_uploads', n);
      }
    }
    let batches = 0;
    if (policy.retention_enabled) {
      for (const rule of retentionRules(policy, clock.now())) {
        for (;;) {
          if (batches >= deps.maxBatches || ctx.signal.aborted) {
            ctx.log.info({ removed }, 'retention: more is due, continuing in a new run');
            throw new SnoozeError(clock.now(), 'retention: batch budget of this run spent');
          }
          const n = await inTenant(pool, task.organisation_id, async (client) => {
            const { rows } = await client.query<{ n: number }>(rule.batchSql, [rule.cutoff, deps.batchSize]);
            return rows[0]?.n ?? 0;
          });
          if (n > 0) {
            removed[rule.name] = (removed[rule.name] ?? 0) + n;
            deps.onRemoved?.(rule.name, n);
          }
          if (n < deps.batchSize) break;
          // Only full batches spend the budget: a rule that is done costs one short batch per
          // run, so every run makes progress and the task always ends.
          batches += 1;
        }
      }
    }
    await inTenant(pool, task.organisation_id, (client) =>
      ctx.complete(
        client,
        JSON.stringify(policy.retention_enabled ? { removed } : { removed, retention: 'disabled' }),
      ),
    );
    if (Object.keys(removed).length > 0) ctx.log.info({ removed, batches }, 'retention applied');
  };
}
