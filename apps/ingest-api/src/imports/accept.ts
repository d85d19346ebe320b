import { createHash, randomUUID } from 'node:crypto';
import {
  attachUpload,
  type CustomMapping,
  deletePendingImport,
  enqueueImport,
  findByContent,
  findById,
  findByIdempotencyKey,
  ImportFailure,
  type ImportRecord,
  importStorageKey,
  insertImport,
  inTenantUnit,
  type ProbedUpload,
  prepareCsvSample,
  readJsonRows,
  type Tenant,
} from '@prospectflow/import-engine';
import type { ObjectStorage } from '@prospectflow/object-storage';
import { traceCarrier } from '@prospectflow/telemetry';
import type { Pool } from 'pg';
import { ProblemError } from '../lib/problem.js';

/** A CSV upload as it was received: already in object storage (unless `key` is null), probed. */
export interface ReceivedCsv extends ProbedUpload {
  /** The import this upload is for (its object key is derived from it). */
  id: string;
  /** The stored object, or null when the body was only hashed (an Idempotency-Key replay). */
  key: string | null;
}

export type Upload =
  | { kind: 'csv'; received: ReceivedCsv; fileName: string | null; mapping: CustomMapping }
  | { kind: 'json'; rows: unknown[]; fileName: string | null; mapping: CustomMapping };

export type Reservation = { reserved: ImportRecord } | { existing: ImportRecord } | undefined;

/** The import a request creates (its reserved id, else a new one) and whether its upload is stored. */
export interface UploadTarget {
  id: string;
  store: boolean;
}

export function uploadTarget(reservation: Reservation): UploadTarget {
  if (reservation && 'existing' in reservation) return { id: reservation.existing.id, store: false };
  return { id: reservation ? reservation.reserved.id : randomUUID(), store: true };
}

export type Accepted = { replay: false; record: ImportRecord } | { replay: true; record: ImportRecord };

/** Where accepted uploads go and how their imports are queued (the worker runs them). */
export interface ImportQueue {
  storage: ObjectStorage;
  /** Attempts a worker makes before the import fails (IMPORT_MAX_ATTEMPTS). */
  maxAttempts: number;
}

/**
 * 503 `storage_unavailable`: the upload storage failed (S3 unreachable, refused credentials, a full
 * disk) — the platform's side, not the body's; nothing was accepted, so the client retries.
 */
export function storageUnavailable(cause: unknown): ProblemError {
  return new ProblemError(503, 'storage_unavailable', 'The upload could not be stored; retry shortly.', {
    headers: { 'retry-after': '5' },
    cause,
  });
}

function asProblem(error: unknown): unknown {
  return error instanceof ImportFailure ? new ProblemError(error.status, error.code, error.message) : error;
}

/** sha256 of the upload: the file bytes (hashed while they streamed), or the JSON rows re-serialised. */
function fingerprint(upload: Upload): string {
  if (upload.kind === 'json') return createHash('sha256').update(JSON.stringify(upload.rows)).digest('hex');
  return upload.received.sha256;
}

function sameRequest(record: ImportRecord, sha256: string, mapping: CustomMapping): boolean {
  const stored = (record.mapping as { request?: unknown }).request ?? {};
  return (
    record.contentSha256 === sha256 && JSON.stringify(sortKeys(stored)) === JSON.stringify(sortKeys(mapping))
  );
}

function sortKeys(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Reserves an Idempotency-Key before the upload is read: a pending row holding the key. A second
 * request with the key while the first is still uploading gets 409; afterwards the key answers
 * with its import (same body) or 422 (other body).
 */
export async function reserveKey(
  pool: Pool,
  tenant: Tenant,
  key: string,
  sourceKind: 'csv' | 'json',
): Promise<{ reserved: ImportRecord } | { existing: ImportRecord }> {
  try {
    return await inTenantUnit(pool, tenant, async (client) => {
      const existing = await findByIdempotencyKey(client, key);
      if (existing?.status === 'pending') throw inUse();
      if (existing) return { existing };
      return { reserved: await insertImport(client, { sourceKind, idempotencyKey: key, status: 'pending' }) };
    });
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw inUse();
    throw error;
  }
}

function inUse(): ProblemError {
  return new ProblemError(
    409,
    'idempotency_key_in_use',
    'A request with this Idempotency-Key is still being received; retry when it has finished.',
    { headers: { 'retry-after': '1' } },
  );
}

/**
 * Accepts an upload: idempotency, content de-duplication, early checks (4xx), then stores the file
 * in object storage and queues the import for a worker — the import row and its task are written
 * in one transaction, after the object is complete.
 */
export async function acceptImport(
  pool: Pool,
  queue: ImportQueue,
  tenant: Tenant,
  upload: Upload,
  reservation: Reservation,
): Promise<Accepted> {
  // A received CSV is already stored: removed again unless its import row is written.
  let storedKey: string | undefined = upload.kind === 'csv' ? (upload.received.key ?? undefined) : undefined;
  try {
    const sha256 = fingerprint(upload);
    if (reservation && 'existing' in reservation) {
      if (!sameRequest(reservation.existing, sha256, upload.mapping)) {
        throw new ProblemError(
          422,
          'idempotency_key_reused',
          'This Idempotency-Key was used for a different request body; use a new key.',
        );
      }
      return { replay: true, record: reservation.existing };
    }
    if (!reservation) {
      const same = await findByContent(pool, tenant, sha256, upload.mapping);
      if (same) return { replay: true, record: same };
    }
    const mappingInfo: Record<string, unknown> = { request: upload.mapping };
    if (upload.kind === 'csv') {
      // The header checks again on the whole file's verdict (encoding) and the final mapping.
      const { sample, wholeFileIsUtf8 } = upload.received;
      const prepared = await prepareCsvSample(sample, wholeFileIsUtf8, upload.mapping);
      Object.assign(mappingInfo, {
        encoding: prepared.encoding.encoding,
        bomLength: prepared.encoding.bomLength,
        delimiter: prepared.delimiter,
      });
    } else {
      // The check a CSV's header gets: rows none of whose keys maps to a field the import matches
      // on (or no rows at all) can never import — refused now (422), not accepted and failed later.
      readJsonRows(upload.rows, upload.mapping);
    }
    const id =
      upload.kind === 'csv' ? upload.received.id : reservation ? reservation.reserved.id : randomUUID();
    let key: string;
    if (upload.kind === 'csv') {
      key = upload.received.key!;
    } else {
      key = importStorageKey(tenant.organisationId, id, 'json');
      await queue.storage
        .put(key, JSON.stringify(upload.rows), { contentType: 'application/json' })
        .catch((error: unknown) => {
          throw storageUnavailable(error);
        });
      storedKey = key;
    }
    const record = await inTenantUnit(pool, tenant, async (client) => {
      const values = {
        sourceKind: upload.kind,
        fileName: upload.fileName,
        contentSha256: sha256,
        mapping: mappingInfo,
        storageKey: key,
      };
      if (reservation) {
        await attachUpload(client, id, values);
      } else {
        await insertImport(client, { id, status: 'pending', ...values });
      }
      await enqueueImport(client, id, { maxAttempts: queue.maxAttempts, traceContext: traceCarrier() });
      return (await findById(client, id))!;
    });
    storedKey = undefined;
    return { replay: false, record };
  } catch (error) {
    if (reservation && 'reserved' in reservation) {
      await deletePendingImport(pool, tenant, reservation.reserved.id).catch(() => {});
    }
    throw asProblem(error);
  } finally {
    if (storedKey) await queue.storage.delete(storedKey).catch(() => {});
  }
}

export async function releaseReservation(
  pool: Pool,
  tenant: Tenant,
  reservation: Reservation,
): Promise<void> {
  if (reservation && 'reserved' in reservation) {
    await deletePendingImport(pool, tenant, reservation.reserved.id).catch(() => {});
  }
}
