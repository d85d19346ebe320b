/** An import row (crm.imports) as the engine and the API report it: one schema, one type. */
import { IMPORT_STATUSES, type ImportStatus } from '@prospectflow/contracts';
import { type Static, type TSchema, Type } from 'typebox';
import { parseStoredError } from './errors.js';

export type { ImportStatus };

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Timestamp = Type.String({ format: 'date-time' });

/**
 * An import as the API answers it (`ImportResource` of the OpenAPI document, and so of
 * @prospectflow/api-client). The API's routes use this schema; `ImportRecord` is its type.
 */
export const ImportResource = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: Type.Enum(IMPORT_STATUSES, { type: 'string' }),
  sourceKind: Type.Union([Type.Literal('csv'), Type.Literal('json'), Type.Literal('sqlite')]),
  fileName: nullable(Type.String()),
  contentSha256: nullable(Type.String()),
  idempotencyKey: nullable(Type.String()),
  mapping: Type.Object({}, { additionalProperties: true }),
  progress: Type.Object({ rowsProcessed: Type.Integer(), rowsTotal: nullable(Type.Integer()) }),
  counts: Type.Object({
    inserted: Type.Integer(),
    updated: Type.Integer(),
    skipped: Type.Integer(),
    failed: Type.Integer(),
  }),
  error: nullable(Type.Object({ code: Type.String(), message: Type.String() })),
  /** Null for imports run in-process. */
  execution: nullable(
    Type.Object(
      {
        attempts: Type.Integer({
          description: 'attempts started by workers (a retry reads the stored file again)',
        }),
        maxAttempts: Type.Integer(),
        runningInOrganisation: Type.Integer({ description: "the organisation's imports running now" }),
        queuedAhead: Type.Integer({
          description: "while queued: the organisation's imports queued before this one",
        }),
      },
      {
        description:
          'Imports run by workers, at most IMPORT_ORG_CONCURRENCY at once per organisation: a queued import waits for a slot.',
      },
    ),
  ),
  createdAt: Timestamp,
  startedAt: nullable(Timestamp),
  finishedAt: nullable(Timestamp),
  /** Also set by `import:sqlite undo`. */
  undoneAt: nullable(
    Type.String({ format: 'date-time', description: 'when DELETE /v1/imports/{id} undid it' }),
  ),
});

export type ImportRecord = Static<typeof ImportResource> & {
  mapping: Record<string, unknown>;
  /** Object storage key of the uploaded file (kept until the import has finished); never answered. */
  storageKey: string | null;
};

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
