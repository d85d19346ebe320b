/**
 * Retention rules (GDPR Art. 5(1)(e); durations per organisation in iam.privacy_settings, defaults
 * after the CNIL reference for prospecting). One definition for the worker, which applies them in
 * batches, and the API, which previews them (dry run). Every statement runs under the tenant (RLS).
 */
export interface RetentionPolicy {
  people_retention_days: number;
  open_events_retention_months: number;
  finished_tasks_retention_days: number;
  import_error_values_retention_days: number;
  audit_retention_days: number;
}

export type RetentionRuleName =
  | 'people'
  | 'open_events'
  | 'finished_tasks'
  | 'import_error_values'
  | 'audit_log'
  | 'closed_invitations';

export interface RetentionRule {
  name: RetentionRuleName;
  /** What goes, in words (dry-run report, docs). */
  description: string;
  /** Rows older than this are due. */
  cutoff: Date;
  /** Counts the due rows. $1 = cutoff. */
  countSql: string;
  /** Handles one batch and returns the rows handled as `n`. $1 = cutoff, $2 = batch size. */
  batchSql: string;
}

const days = (now: Date, n: number) => new Date(now.getTime() - n * 86_400_000);
/** `n` calendar months before `now`, on the same day or the month's last (31 March - 1 month = 28 February). */
function months(now: Date, n: number): Date {
  const cutoff = new Date(now);
  // setUTCMonth alone overflows a short month (31 March minus one month is "31 February", i.e.
  // 3 March), moving the cutoff days later and deleting rows still inside the retention period.
  cutoff.setUTCDate(1);
  cutoff.setUTCMonth(cutoff.getUTCMonth() - n);
  const lastDay = new Date(Date.UTC(cutoff.getUTCFullYear(), cutoff.getUTCMonth() + 1, 0)).getUTCDate();
  cutoff.setUTCDate(Math.min(now.getUTCDate(), lastDay));
  return cutoff;
}

/** One batch: lock the oldest due rows (skipping rows others hold), then act on exactly those. */
const deleteBatch = (table: string, due: string, order: string) => `
WITH doomed AS (SELECT id FROM ${table} WHERE ${due} ORDER BY ${order} LIMIT $2 FOR UPDATE SKIP LOCKED),
     gone AS (DELETE FROM ${table} t USING doomed d WHERE t.id = d.id RETURNING 1)
SELECT count(*)::int AS n FROM gone`;

// The person's clock: collection, or their last contact TO us (reply, click, form) — never an
// open, never our own sends (CNIL référentiel 2021-131; Spartoo decision on opens).
const PERSON_DUE = 'greatest(collected_at, coalesce(last_inbound_at, collected_at)) < $1';
const OPEN_DUE = 'opened_at < $1';
const TASK_DUE = `status IN ('succeeded', 'failed', 'cancelled') AND completed_at < $1`;
const ERROR_VALUE_DUE = 'raw_value IS NOT NULL AND created_at < $1';
/** How long an accepted, revoked or expired invitation keeps the invited address (not a setting). */
export const CLOSED_INVITATION_RETENTION_DAYS = 30;

/**
 * One batch of stale people. Their positions, enrollments, messages and events go by cascade; what
 * the importers keep of them has no foreign key and goes here, in the same statement: the source
 * keys of their records (crm.import_source_keys: a legacy contacts table keyed by email keeps the
 * address there) and the rows of the consolidated SQLite stores they were loaded from
 * (legacy.archive_rows with the same database, table and key; the database's key namespace is
 * `sqlite:<name>`, or the one its consolidation recorded in crm.imports.mapping.databases).
 */
const PEOPLE_BATCH = `
WITH doomed AS (SELECT id FROM crm.people WHERE ${PERSON_DUE} ORDER BY collected_at LIMIT $2 FOR UPDATE SKIP LOCKED),
     keyed AS (
       SELECT k.id, k.source, k.source_table, k.source_key FROM crm.import_source_keys k
        WHERE (k.target_table = 'crm.people' AND k.target_id IN (SELECT id FROM doomed))
           OR (k.target_table = 'crm.positions'
               AND k.target_id IN (SELECT p.id FROM crm.positions p WHERE p.person_id IN (SELECT id FROM doomed)))),
     legacy AS (
       DELETE FROM legacy.archive_rows a USING keyed k
        WHERE a.source_table = k.source_table AND a.source_key = k.source_key
          AND (k.source = 'sqlite:' || a.source_database
               OR EXISTS (
                 SELECT 1 FROM crm.imports i,
                        jsonb_array_elements(CASE WHEN jsonb_typeof(i.mapping -> 'databases') = 'array'
                                                  THEN i.mapping -> 'databases' ELSE '[]'::jsonb END) AS d
                  WHERE i.source_kind = 'sqlite' AND d ->> 'source' = k.source AND d ->> 'name' = a.source_database))
       RETURNING 1),
     unkeyed AS (DELETE FROM crm.import_source_keys k USING keyed WHERE k.id = keyed.id RETURNING 1),
     gone AS (DELETE FROM crm.people t USING doomed d WHERE t.id = d.id RETURNING 1)
SELECT count(*)::int AS n FROM gone`;

export function retentionRules(policy: RetentionPolicy, now: Date): RetentionRule[] {
  return [
    {
      name: 'people',
      description: `people (with their positions, enrollments, messages and events, their importers' source keys and the legacy rows they were consolidated from) ${policy.people_retention_days} days after collection or their last reply/click/form, whichever is later`,
      cutoff: days(now, policy.people_retention_days),
      countSql: `SELECT count(*)::int AS n FROM crm.people WHERE ${PERSON_DUE}`,
      batchSql: PEOPLE_BATCH,
    },
    {
      name: 'open_events',
      description: `open events after ${policy.open_events_retention_months} months`,
      cutoff: months(now, policy.open_events_retention_months),
      countSql: `SELECT count(*)::int AS n FROM tracking.open_events WHERE ${OPEN_DUE}`,
      batchSql: deleteBatch('tracking.open_events', OPEN_DUE, 'opened_at'),
    },
    {
      name: 'finished_tasks',
      description: `finished tasks (succeeded, failed, cancelled) ${policy.finished_tasks_retention_days} days after they finished`,
      cutoff: days(now, policy.finished_tasks_retention_days),
      countSql: `SELECT count(*)::int AS n FROM outreach.tasks WHERE ${TASK_DUE}`,
      batchSql: deleteBatch('outreach.tasks', TASK_DUE, 'completed_at'),
    },
    {
      name: 'import_error_values',
      description: `raw values of import error rows after ${policy.import_error_values_retention_days} days (the error itself stays)`,
      cutoff: days(now, policy.import_error_values_retention_days),
      countSql: `SELECT count(*)::int AS n FROM crm.import_errors WHERE ${ERROR_VALUE_DUE}`,
      batchSql: `
WITH due AS (SELECT id FROM crm.import_errors WHERE ${ERROR_VALUE_DUE} ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED),
     cleared AS (UPDATE crm.import_errors e SET raw_value = NULL FROM due WHERE e.id = due.id RETURNING 1)
SELECT count(*)::int AS n FROM cleared`,
    },
    {
      name: 'audit_log',
      description: `audit rows after ${policy.audit_retention_days} days`,
      cutoff: days(now, policy.audit_retention_days),
      countSql: 'SELECT count(*)::int AS n FROM iam.audit_log WHERE created_at < $1',
      // The audit log is append-only for runtime roles: deletion goes through a narrow function.
      batchSql: 'SELECT app.purge_audit_log($1, $2) AS n',
    },
    {
      name: 'closed_invitations',
      description: `accepted, revoked and expired invitations (the invited address) ${CLOSED_INVITATION_RETENTION_DAYS} days after they closed`,
      cutoff: days(now, CLOSED_INVITATION_RETENTION_DAYS),
      countSql:
        'SELECT count(*)::int AS n FROM iam.organisation_invitations WHERE coalesce(accepted_at, revoked_at, expires_at) < $1',
      // The worker has no write access to invitations (seats): deletion goes through a narrow function.
      batchSql: 'SELECT app.purge_closed_invitations($1, $2) AS n',
    },
  ];
}
