import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CsvUploadProbe,
  type CustomMapping,
  importStorageKey,
  type Tenant,
} from '@prospectflow/import-engine';
import type { ObjectStorage } from '@prospectflow/object-storage';
import { type ReceivedCsv, storageUnavailable, type UploadTarget } from '../../../imports/accept.js';
import { ByteLimit } from './byte-limit.js';

/** Errors of the request's own stream (a client gone, a malformed multipart body). */
const clientErrors = new WeakSet<object>();

export function cameFromClient(error: unknown): boolean {
  return typeof error === 'object' && error !== null && clientErrors.has(error);
}

/**
 * Streams a CSV body straight into object storage (S3 multipart, or the local driver's
 * temp-file-then-rename) — never onto this host's disk, never whole in memory — through the byte
 * limit and the header probe. Over the limit (413), an invalid header (4xx, as soon as it has
 * arrived) or a client that goes away, the upload is aborted and nothing is stored; the error is
 * the first cause. `mapping`: the request's mapping when it is already known (else the mapping-
 * dependent checks wait for acceptImport).
 */
export async function receiveCsv(
  storage: ObjectStorage,
  tenant: Tenant,
  target: UploadTarget,
  stream: Readable,
  options: { maxBytes: number; mapping?: CustomMapping },
): Promise<ReceivedCsv> {
  // A stream that already failed (a multipart part destroyed by its parser before it was read: the
  // body went over the limit) emits nothing more: its error is the answer.
  if (stream.errored) {
    clientErrors.add(stream.errored);
    throw stream.errored;
  }
  const limiter = new ByteLimit(options.maxBytes);
  const probe = new CsvUploadProbe(options.mapping);
  let failure: unknown;
  const fail = (error: Error) => {
    clientErrors.add(error);
    failure ??= error;
    limiter.destroy(error);
  };
  const closed = () => {
    if (!stream.readableEnded) {
      const error = new Error('The client closed the connection before the upload ended');
      fail(Object.assign(error, { code: 'ECONNRESET' }));
    }
  };
  const note = (error: Error) => {
    failure ??= error;
  };
  // The source is piped, not pipelined: a refused upload must not destroy the request (and its
  // socket) before the 413 is sent. A client abort still fails the upload.
  stream.once('error', fail);
  stream.once('close', closed);
  limiter.once('error', note);
  probe.once('error', note);
  stream.pipe(limiter);
  limiter.once('error', (error) => probe.destroy(error));
  limiter.pipe(probe);
  const key = target.store ? importStorageKey(tenant.organisationId, target.id, 'csv') : null;
  try {
    if (key) await storage.put(key, probe, { contentType: 'text/csv' });
    else await pipeline(probe, new Writable({ write: (_chunk, _encoding, done) => done() }));
  } catch (error) {
    stream.unpipe(limiter);
    // The body's own failure (limit, header, client gone) first; else the storage failed.
    throw failure ?? (key ? storageUnavailable(error) : error);
  } finally {
    stream.removeListener('error', fail);
    stream.removeListener('close', closed);
  }
  return { ...probe.result(), id: target.id, key };
}
