import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';

/** A pass-through that counts and hashes what flows through it. */
export class HashingStream extends Transform {
  readonly #hash = createHash('sha256');
  // Not `size`: lib-storage reads Body.size as the total length of the body.
  bytes = 0;

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    done: (error?: Error | null, data?: Buffer) => void,
  ): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  digest(): string {
    return this.#hash.digest('hex');
  }
}

export function toReadable(body: Readable | Buffer | string): Readable {
  return typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;
}
