/** Reads and writes of import rows (crm.imports): created, queued, running, finished. */
import type { TenantClient } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';
import { formatStoredError } from './errors.js';
import { COLUMNS, type ImportRecord, type Row, toRecord, VISIBLE_COLUMNS } from './import-record.js';
import { inTenantUnit, type Tenant } from './tenant-unit.js';

/** A pending/running import whose heartbeat (updated_at) is older than this is treated as dead. */
export const STALE_AFTER_SECONDS = 60;

export interface NewImport {
  /** Chosen by the caller when the upload is stored under the import's id before the row exists. */
  id?: string;
  sourceKind: ImportRecord['sourceKind'];
  status?: 'pending' | 'running';
  fileName?: string | null;
  contentSha256?: string | null;
  idempotencyKey?: string | null;
  mapping?: Record<string, unknown>;
  storageKey?: string | null;
}

export async function insertImport(client: TenantClient, values: NewImport): Promise<ImportRecord> {
  const { rows } = await client.query<Row>(
    `INSERT INTO crm.imports (id, source_kind, status, file_name, content_sha256, idempotency_key, mapping, storage_key,
                              created_by, started_at)
     VALUES (coalesce($7::uuid, gen_random_uuid()), $1, $2, $3, $4, $5, $6, $8, app.current_user_id(),
             CASE WHEN $2 = 'running' THEN now() END)
     RETURNING ${COLUMNS}`,
    [
      values.sourceKind,
      values.status ?? 'pending',
      values.fileName ?? null,
      values.contentSha256 ?? null,
      values.idempotencyKey ?? null,
      JSON.stringify(values.mapping ?? {}),
      values.id ?? null,
      values.storageKey ?? null,
    ],
  );
  return toRecord(rows[0]!);
}

/** Records the stored upload of a reserved (Idempotency-Key) import, before it is queued. */
export async function attachUpload(
  client: TenantClient,
  id: string,
  values: Required<Pick<NewImport, 'sourceKind' | 'fileName' | 'contentSha256' | 'mapping' | 'storageKey'>>,
): Promise<void> {
  await client.query(
    `UPDATE crm.imports SET source_kind = $2, file_name = $3, content_sha256 = $4, mapping = $5, storage_key = $6
      WHERE id = $1`,
    [
      id,
      values.sourceKind,
      values.fileName,
      values.contentSha256,
      JSON.stringify(values.mapping),
      values.storageKey,
    ],
  );
}

export async function createImport(pool: Pool, tenant: Tenant, values: NewImport): Promise<ImportRecord> {
  return await inTenantUnit(pool, tenant, (client) => insertImport(client, values));
}

/** Marks dead imports (heartbeat lost: the process crashed mid-import) as failed; nothing of them was committed. */
async function failStale(
  client: TenantClient,
  column: 'id' | 'idempotency_key' | 'content_sha256',
  value: string,
): Promise<void> {
  await client.query(
    `UPDATE crm.imports SET status = 'failed', finished_at = now(),
            error = ${literalError('import_interrupted', 'The import stopped without finishing (process restarted); nothing was imported')}
      WHERE ${column} = $1 AND (status = 'pending' OR (status = 'running' AND task_id IS NULL))
        AND updated_at < now() - make_interval(secs => ${STALE_AFTER_SECONDS})`,
    [value],
  );
  await failInterrupted(client, { column, value });
}

/**
 * Worker-run imports whose task ran out of attempts without recording an outcome (the worker died
 * on the last one: its lease expired, and SQL failed the task), so nothing was imported: failed as
 * import_interrupted. `match`: only the import(s) with this id, key or content; else all of the
 * organisation's.
 */
export async function failInterrupted(
  client: TenantClient,
  match?: { column: 'id' | 'idempotency_key' | 'content_sha256'; value: string },
): Promise<void> {
  await client.query(
    `UPDATE crm.imports AS i SET status = 'failed', finished_at = now(),
            error = ${literalError('import_interrupted', 'The import was stopped before it finished on every attempt (worker restarts); nothing was imported')}
       FROM outreach.tasks AS t
      WHERE ${match ? `i.${match.column} = $1 AND ` : ''}i.status IN ('queued', 'running')
        AND t.organisation_id = i.organisation_id AND t.id = i.task_id AND t.status IN ('failed', 'cancelled')`,
    match ? [match.value] : [],
  );
}

function literalError(code: string, message: string): string {
  return `'${formatStoredError(code, message).replace(/'/g, "''")}'`;
}

/**
 * An import as its owner sees it. A running import whose task is pending again (its worker
 * stopped; a retry is due) reads as queued; its task's attempts and the organisation's queue
 * are reported with it.
 */
export async function getImport(pool: Pool, tenant: Tenant, id: string): Promise<ImportRecord | null> {
  return await inTenantUnit(pool, tenant, async (client) => {
    await failStale(client, 'id', id);
    return await findById(client, id);
  });
}

/**
 * An import as its owner sees it, in the caller's tenant unit. A running import whose task is
 * pending again (its worker stopped; a retry is due) reads as queued; its task's attempts and the
 * organisation's queue are reported with it.
 */
export async function findById(client: TenantClient, id: string): Promise<ImportRecord | null> {
  const { rows } = await client.query<Row>(
    `SELECT ${VISIBLE_COLUMNS}, t.attempts, t.max_attempts,
            (SELECT count(*)::integer FROM outreach.tasks AS r
              WHERE r.type = 'run_import' AND r.status = 'running') AS running_in_organisation,
            CASE WHEN i.status IN ('queued', 'running') AND t.status = 'pending' THEN
              (SELECT count(*)::integer FROM crm.imports AS q
                WHERE q.status = 'queued' AND (q.created_at, q.id) < (i.created_at, i.id)) END AS queued_ahead
       FROM crm.imports AS i
       LEFT JOIN outreach.tasks AS t ON t.organisation_id = i.organisation_id AND t.id = i.task_id
      WHERE i.id = $1`,
    [id],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function findByIdempotencyKey(client: TenantClient, key: string): Promise<ImportRecord | null> {
  // A reservation whose upload died with its process frees the key.
  await client.query(
    `DELETE FROM crm.imports WHERE idempotency_key = $1 AND status = 'pending'
        AND updated_at < now() - make_interval(secs => ${STALE_AFTER_SECONDS})`,
    [key],
  );
  await failStale(client, 'idempotency_key', key);
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
    await failStale(client, 'content_sha256', sha256);
    const { rows } = await client.query<Row>(
      `SELECT ${COLUMNS} FROM crm.imports
        WHERE content_sha256 = $1 AND mapping -> 'request' = $2::jsonb AND status <> 'failed'
          AND undone_at IS NULL
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
  values: { contentSha256?: string | null; mapping?: Record<string, unknown>; runBy?: string | null } = {},
): Promise<void> {
  // A retry starts counting again: the previous attempt's rows were rolled back.
  await inTenantUnit(pool, tenant, async (client) => {
    await client.query(
      `UPDATE crm.imports SET status = 'running', started_at = coalesce(started_at, now()), rows_processed = 0,
              content_sha256 = coalesce($2, content_sha256), mapping = coalesce($3::jsonb, mapping),
              run_by = coalesce($4, run_by)
        WHERE id = $1 AND status NOT IN ('succeeded', 'failed')`,
      [
        id,
        values.contentSha256 ?? null,
        values.mapping ? JSON.stringify(values.mapping) : null,
        values.runBy ?? null,
      ],
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
  // Recorded after the import's own transaction rolled back: commits on its own. Never over an
  // import that another attempt (one whose lease this one took over) has meanwhile finished.
  await inTenantUnit(
    pool,
    tenant,
    async (client) => {
      await client.query(
        `UPDATE crm.imports SET status = 'failed', finished_at = now(), error = $2
          WHERE id = $1 AND status <> 'succeeded'`,
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
