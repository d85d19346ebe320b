/** An import row (crm.imports) as the engine and the API report it. */
import type { ImportStatus } from '@prospectflow/contracts';
import { parseStoredError } from './errors.js';

export type { ImportStatus };

export interface ImportRecord {
  id: string;
  status: ImportStatus;
  sourceKind: 'csv' | 'json' | 'sqlite';
  fileName: string | null;
  contentSha256: string | null;
  idempotencyKey: string | null;
  mapping: Record<string, unknown>;
  progress: { rowsProcessed: number; rowsTotal: number | null };
  counts: { inserted: number; updated: number; skipped: number; failed: number };
  error: { code: string; message: string } | null;
  /**
   * Imports run by workers: attempts made and allowed, and while queued how many imports of the
   * organisation are running and queued ahead of this one. Null for imports run in-process.
   */
  execution: {
    attempts: number;
    maxAttempts: number;
    runningInOrganisation: number;
    queuedAhead: number;
  } | null;
  /** Object storage key of the uploaded file (kept until the import has finished). */
  storageKey: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** When DELETE /v1/imports/{id} (or `import:sqlite undo`) took it back; null otherwise. */
  undoneAt: string | null;
}

const COLUMN_NAMES = [
  'id',
  'status',
  'source_kind',
  'file_name',
  'content_sha256',
  'idempotency_key',
  'mapping',
  'rows_processed',
  'rows_total',
  'inserted',
  'updated',
  'skipped',
  'failed',
  'error',
  'created_at',
  'started_at',
  'finished_at',
  'undone_at',
  'storage_key',
];
export const COLUMNS = COLUMN_NAMES.join(', ');
/** For `crm.imports AS i LEFT JOIN outreach.tasks AS t`: a running import whose task waits for a retry reads as queued. */
export const VISIBLE_COLUMNS = COLUMN_NAMES.map((c) =>
  c === 'status'
    ? `CASE WHEN i.status = 'running' AND t.status = 'pending' THEN 'queued' ELSE i.status END AS status`
    : `i.${c}`,
).join(', ');

export interface Row {
  id: string;
  status: ImportStatus;
  source_kind: ImportRecord['sourceKind'];
  file_name: string | null;
  content_sha256: string | null;
  idempotency_key: string | null;
  mapping: Record<string, unknown>;
  rows_processed: number;
  rows_total: number | null;
  inserted: number;
  updated: number;
  skipped: number;
  failed: number;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  undone_at: Date | null;
  storage_key: string | null;
  attempts?: number | null;
  max_attempts?: number | null;
  running_in_organisation?: number | null;
  queued_ahead?: number | null;
}

export function toRecord(row: Row): ImportRecord {
  return {
    id: row.id,
    status: row.status,
    sourceKind: row.source_kind,
    fileName: row.file_name,
    contentSha256: row.content_sha256,
    idempotencyKey: row.idempotency_key,
    mapping: row.mapping,
    progress: { rowsProcessed: row.rows_processed, rowsTotal: row.rows_total },
    counts: { inserted: row.inserted, updated: row.updated, skipped: row.skipped, failed: row.failed },
    error: parseStoredError(row.error),
    execution:
      row.max_attempts == null
        ? null
        : {
            attempts: row.attempts ?? 0,
            maxAttempts: row.max_attempts,
            runningInOrganisation: row.running_in_organisation ?? 0,
            queuedAhead: row.queued_ahead ?? 0,
          },
    storageKey: row.storage_key,
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    undoneAt: row.undone_at?.toISOString() ?? null,
  };
}
