import { runWithTenant, type TenantClient, withTenantClient } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';
import { formatStoredError, parseStoredError } from './errors.js';
import { SKIP_CODES } from './pipeline-sql.js';

export interface Tenant {
  organisationId: string;
  userId?: string | null;
}

/**
 * One @prospectflow/tenant-context unit of work for `tenant`. The import engine is handed its
 * tenant explicitly (background runner, CLI), so it enters the async context here. Inside an open
 * unit on the same pool this becomes a savepoint, unless `independent`: its own transaction on
 * another connection that commits whatever the surrounding unit does (progress, failure records).
 */
export function inTenantUnit<T>(
  pool: Pool,
  tenant: Tenant,
  fn: (client: TenantClient) => Promise<T>,
  options: { independent?: boolean } = {},
): Promise<T> {
  const context = {
    organisationId: tenant.organisationId,
    ...(tenant.userId ? { userId: tenant.userId } : {}),
  };
  return runWithTenant(context, () => withTenantClient(pool, fn, options));
}

export type ImportStatus = 'pending' | 'running' | 'succeeded' | 'failed';

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
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface ImportErrorRecord {
  rowNumber: number;
  column: string | null;
  code: string;
  kind: 'skipped' | 'failed';
  message: string;
  rawValue: string | null;
}

/** A pending/running import whose heartbeat (updated_at) is older than this is treated as dead. */
export const STALE_AFTER_SECONDS = 60;

const COLUMNS = `id, status, source_kind, file_name, content_sha256, idempotency_key, mapping, rows_processed, rows_total,
  inserted, updated, skipped, failed, error, created_at, started_at, finished_at`;

interface Row {
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
}

function toRecord(row: Row): ImportRecord {
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
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
  };
}

export interface NewImport {
  sourceKind: ImportRecord['sourceKind'];
  status?: 'pending' | 'running';
  fileName?: string | null;
  contentSha256?: string | null;
  idempotencyKey?: string | null;
  mapping?: Record<string, unknown>;
}

export async function insertImport(client: TenantClient, values: NewImport): Promise<ImportRecord> {
  const { rows } = await client.query<Row>(
    `INSERT INTO crm.imports (source_kind, status, file_name, content_sha256, idempotency_key, mapping, created_by, started_at)
     VALUES ($1, $2, $3, $4, $5, $6, app.current_user_id(), CASE WHEN $2 = 'running' THEN now() END)
     RETURNING ${COLUMNS}`,
    [
      values.sourceKind,
      values.status ?? 'pending',
      values.fileName ?? null,
      values.contentSha256 ?? null,
      values.idempotencyKey ?? null,
      JSON.stringify(values.mapping ?? {}),
    ],
  );
  return toRecord(rows[0]!);
}

export async function createImport(pool: Pool, tenant: Tenant, values: NewImport): Promise<ImportRecord> {
  return await inTenantUnit(pool, tenant, (client) => insertImport(client, values));
}

/** Marks dead imports (heartbeat lost: the process crashed mid-import) as failed; nothing of them was committed. */
async function failStale(client: TenantClient, where: string, values: unknown[]): Promise<void> {
  await client.query(
    `UPDATE crm.imports SET status = 'failed', finished_at = now(),
            error = ${literalError('import_interrupted', 'The import stopped without finishing (process restarted); nothing was imported')}
      WHERE ${where} AND status IN ('pending', 'running') AND updated_at < now() - make_interval(secs => ${STALE_AFTER_SECONDS})`,
    values,
  );
}

function literalError(code: string, message: string): string {
  return `'${formatStoredError(code, message).replace(/'/g, "''")}'`;
}

export async function getImport(pool: Pool, tenant: Tenant, id: string): Promise<ImportRecord | null> {
  return await inTenantUnit(pool, tenant, async (client) => {
    await failStale(client, 'id = $1', [id]);
    const { rows } = await client.query<Row>(`SELECT ${COLUMNS} FROM crm.imports WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  });
}

export async function findByIdempotencyKey(client: TenantClient, key: string): Promise<ImportRecord | null> {
  // A reservation whose upload died with its process frees the key.
  await client.query(
    `DELETE FROM crm.imports WHERE idempotency_key = $1 AND status = 'pending'
        AND updated_at < now() - make_interval(secs => ${STALE_AFTER_SECONDS})`,
    [key],
  );
  await failStale(client, 'idempotency_key = $1', [key]);
  const { rows } = await client.query<Row>(`SELECT ${COLUMNS} FROM crm.imports WHERE idempotency_key = $1`, [
    key,
  ]);
  return rows[0] ? toRecord(rows[0]) : null;
}

/** The newest import of the same content and request mapping that did not fail. */
export async function findByContent(
  pool: Pool,
  tenant: Tenant,
  sha256: string,
  requestMapping: unknown,
): Promise<ImportRecord | null> {
  return await inTenantUnit(pool, tenant, async (client) => {
    await failStale(client, 'content_sha256 = $1', [sha256]);
    const { rows } = await client.query<Row>(
      `SELECT ${COLUMNS} FROM crm.imports
        WHERE content_sha256 = $1 AND mapping -> 'request' = $2::jsonb AND status <> 'failed'
        ORDER BY created_at DESC LIMIT 1`,
      [sha256, JSON.stringify(requestMapping ?? {})],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  });
}

export async function markRunning(
  pool: Pool,
  tenant: Tenant,
  id: string,
  values: { contentSha256?: string | null; mapping?: Record<string, unknown> } = {},
): Promise<void> {
  await inTenantUnit(pool, tenant, async (client) => {
    await client.query(
      `UPDATE crm.imports SET status = 'running', started_at = coalesce(started_at, now()),
              content_sha256 = coalesce($2, content_sha256), mapping = coalesce($3::jsonb, mapping)
        WHERE id = $1`,
      [id, values.contentSha256 ?? null, values.mapping ? JSON.stringify(values.mapping) : null],
    );
  });
}

export async function markFailed(
  pool: Pool,
  tenant: Tenant,
  id: string,
  code: string,
  message: string,
): Promise<void> {
  // Recorded after the import's own transaction rolled back: commits on its own.
  await inTenantUnit(
    pool,
    tenant,
    async (client) => {
      await client.query(
        `UPDATE crm.imports SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1`,
        [id, formatStoredError(code, message)],
      );
    },
    { independent: true },
  );
}

/** Releases an idempotency key whose request never got its upload through. */
export async function deletePendingImport(pool: Pool, tenant: Tenant, id: string): Promise<void> {
  await inTenantUnit(pool, tenant, async (client) => {
    await client.query(`DELETE FROM crm.imports WHERE id = $1 AND status = 'pending'`, [id]);
  });
}

/** The heartbeat of an import whose upload is still arriving: commits on its own. */
export async function touchImport(pool: Pool, tenant: Tenant, id: string): Promise<void> {
  await inTenantUnit(
    pool,
    tenant,
    async (client) => {
      await client.query(`UPDATE crm.imports SET updated_at = now() WHERE id = $1`, [id]);
    },
    { independent: true },
  );
}

/** Keyset page of per-row errors ordered by row number; the cursor is opaque to clients. */
export async function listImportErrors(
  pool: Pool,
  tenant: Tenant,
  id: string,
  page: { limit: number; cursor?: string | null },
): Promise<{ items: ImportErrorRecord[]; nextCursor: string | null }> {
  let afterRow = 0;
  let afterId = '00000000-0000-0000-0000-000000000000';
  if (page.cursor) {
    const decoded = Buffer.from(page.cursor, 'base64url').toString('utf8');
    const match = /^(\d+):([0-9a-f-]{36})$/.exec(decoded);
    if (match) {
      afterRow = Number(match[1]);
      afterId = match[2]!;
    }
  }
  const { rows } = await inTenantUnit(pool, tenant, (client) =>
    client.query<{
      id: string;
      row_number: number;
      column_name: string | null;
      code: string;
      message: string;
      raw_value: string | null;
    }>(
      `SELECT id, row_number, column_name, code, message, raw_value FROM crm.import_errors
        WHERE import_id = $1 AND (row_number, id) > ($2, $3::uuid)
        ORDER BY row_number, id LIMIT $4`,
      [id, afterRow, afterId, page.limit + 1],
    ),
  );
  const more = rows.length > page.limit;
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return {
    items: items.map((r) => ({
      rowNumber: r.row_number,
      column: r.column_name,
      code: r.code,
      kind: (SKIP_CODES as readonly string[]).includes(r.code) ? 'skipped' : 'failed',
      message: r.message,
      rawValue: r.raw_value,
    })),
    nextCursor: more && last ? Buffer.from(`${last.row_number}:${last.id}`).toString('base64url') : null,
  };
}
