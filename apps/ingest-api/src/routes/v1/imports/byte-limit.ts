import { Transform, type TransformCallback } from 'node:stream';
import { ProblemError } from '../../../lib/problem.js';

/** The one 413 every import body gets when it is over the limit, whatever its content type. */
export function bodyTooLarge(maxBytes: number): ProblemError {
  return new ProblemError(
    413,
    'body_too_large',
    `The import body is larger than ${maxBytes} bytes (IMPORT_MAX_BYTES).`,
  );
}

/**
 * Counts bytes as they stream through and fails the pipeline as soon as the limit is crossed, so
 * an oversized upload is refused while it arrives — never read to the end, never kept on disk.
 */
export class ByteLimit extends Transform {
  #seen = 0;

  constructor(readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.maxBytes) callback(bodyTooLarge(this.maxBytes));
    else callback(null, chunk);
  }
}

/** True when a declared Content-Length already exceeds the limit (refused before reading). */
export function declaredOver(contentLength: string | undefined, maxBytes: number): boolean {
  const declared = Number(contentLength);
  return Number.isFinite(declared) && declared > maxBytes;
}
