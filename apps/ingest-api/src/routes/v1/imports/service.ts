import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';
import type { Pool } from 'pg';
import { ImportFailure } from '../../../imports/errors.js';
import type { CustomMapping } from '../../../imports/mapping.js';
import { prepareCsvFile } from '../../../imports/prepare.js';
import {
  deletePendingImport,
  findByContent,
  findByIdempotencyKey,
  type ImportRecord,
  insertImport,
  inTenantUnit,
  markRunning,
  type Tenant,
} from '../../../imports/repository.js';
import { type ImportSource, runImport } from '../../../imports/run-import.js';
import { ProblemError } from '../../../lib/problem.js';

export type Upload =
  | {
      kind: 'csv';
      path: string;
      fileName: string | null;
      mapping: CustomMapping;
      remove: () => Promise<void>;
    }
  | { kind: 'json'; rows: unknown[]; fileName: string | null; mapping: CustomMapping };

export type Accepted = { replay: false; record: ImportRecord } | { replay: true; record: ImportRecord };

/** Imports running in this process: awaited (or aborted) when the server closes. */
export class ImportRunner {
  readonly #running = new Map<string, { done: Promise<unknown>; abort: AbortController }>();

  constructor(
    private readonly pool: Pool,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(
    tenant: Tenant,
    record: ImportRecord,
    source: ImportSource,
    mapping: CustomMapping,
    cleanup?: () => Promise<void>,
  ) {
    const abort = new AbortController();
    const done = runImport(
      this.pool,
      { importId: record.id, tenant, source, mapping, signal: abort.signal },
      this.log.child({ importId: record.id }),
    )
      .catch((error) => this.log.error({ err: error, importId: record.id }, 'import crashed'))
      .finally(async () => {
        this.#running.delete(record.id);
        await cleanup?.().catch(() => {});
      });
    this.#running.set(record.id, { done, abort });
  }

  /** Graceful close: stop reading, roll back, mark as failed (`import_aborted`). */
  async close(): Promise<void> {
    for (const { abort } of this.#running.values()) abort.abort();
    await Promise.allSettled([...this.#running.values()].map((r) => r.done));
  }
}

function asProblem(error: unknown): unknown {
  return error instanceof ImportFailure ? new ProblemError(error.status, error.code, error.message) : error;
}

/** sha256 of the upload: the file bytes, or the JSON rows re-serialised. */
async function fingerprint(upload: Upload): Promise<string> {
  if (upload.kind === 'json') return createHash('sha256').update(JSON.stringify(upload.rows)).digest('hex');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(upload.path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
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

/** Accepts an upload: idempotency, content de-duplication, early checks (4xx), then starts the import. */
export async function acceptImport(
  pool: Pool,
  runner: ImportRunner,
  tenant: Tenant,
  upload: Upload,
  reservation: { reserved: ImportRecord } | { existing: ImportRecord } | undefined,
): Promise<Accepted> {
  let keep = false;
  try {
    const sha256 = await fingerprint(upload);
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
    let source: ImportSource;
    const mappingInfo: Record<string, unknown> = { request: upload.mapping };
    if (upload.kind === 'csv') {
      const prepared = await prepareCsvFile(upload.path, upload.mapping);
      source = {
        kind: 'csv',
        open: () => createReadStream(upload.path, { highWaterMark: 256 * 1024 }),
        encoding: prepared.encoding,
        delimiter: prepared.delimiter,
      };
      Object.assign(mappingInfo, { encoding: prepared.encoding.encoding, delimiter: prepared.delimiter });
    } else {
      source = { kind: 'json', rows: upload.rows };
    }
    let record: ImportRecord;
    if (reservation) {
      await markRunning(pool, tenant, reservation.reserved.id, {
        contentSha256: sha256,
        mapping: mappingInfo,
      });
      await inTenantUnit(pool, tenant, (client) =>
        client.query('UPDATE crm.imports SET file_name = $2, source_kind = $3 WHERE id = $1', [
          reservation.reserved.id,
          upload.fileName,
          upload.kind,
        ]),
      );
      record = {
        ...reservation.reserved,
        status: 'running',
        contentSha256: sha256,
        mapping: mappingInfo,
        fileName: upload.fileName,
        sourceKind: upload.kind,
      };
    } else {
      record = await inTenantUnit(pool, tenant, (client) =>
        insertImport(client, {
          sourceKind: upload.kind,
          status: 'running',
          fileName: upload.fileName,
          contentSha256: sha256,
          mapping: mappingInfo,
        }),
      );
    }
    runner.start(tenant, record, source, upload.mapping, upload.kind === 'csv' ? upload.remove : undefined);
    keep = true;
    return { replay: false, record };
  } catch (error) {
    if (reservation && 'reserved' in reservation) {
      await deletePendingImport(pool, tenant, reservation.reserved.id).catch(() => {});
    }
    throw asProblem(error);
  } finally {
    if (!keep && upload.kind === 'csv') await upload.remove().catch(() => {});
  }
}

export async function releaseReservation(
  pool: Pool,
  tenant: Tenant,
  reservation: { reserved: ImportRecord } | { existing: ImportRecord } | undefined,
): Promise<void> {
  if (reservation && 'reserved' in reservation) {
    await deletePendingImport(pool, tenant, reservation.reserved.id).catch(() => {});
  }
}
