import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ByteLimit } from './byte-limit.js';

/**
 * Uploads are written to disk as they arrive (never held in memory), then hashed and checked
 * before the import is accepted and processed from the file. Over `maxBytes` the write stops at
 * once (413 body_too_large) and the partial file is deleted.
 */
export async function spoolToDisk(
  stream: Readable,
  dir: string,
  maxBytes: number,
): Promise<{ path: string; remove: () => Promise<void> }> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${randomUUID()}.upload`);
  const remove = () => rm(path, { force: true });
  const limiter = new ByteLimit(maxBytes);
  // The source is piped, not pipelined: a refused upload must not destroy the request (and its
  // socket) before the 413 is sent. A client abort still fails the spool.
  const aborted = (error: Error) => limiter.destroy(error);
  stream.once('error', aborted);
  stream.pipe(limiter);
  try {
    await pipeline(limiter, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  } catch (error) {
    stream.unpipe(limiter);
    await remove();
    throw error;
  } finally {
    stream.removeListener('error', aborted);
  }
  return { path, remove };
}
