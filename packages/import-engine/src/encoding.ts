import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import iconv from 'iconv-lite';
import { ImportFailure } from './errors.js';

/** What we transcode from. Excel's "Latin-1" is really windows-1252 (€, œ, curly quotes in 0x80–0x9F). */
export type SourceEncoding = 'utf8' | 'utf16le' | 'utf16be' | 'windows-1252';

export interface DetectedEncoding {
  encoding: SourceEncoding;
  /** Bytes of byte-order mark to drop. */
  bomLength: number;
}

export const SAMPLE_BYTES = 64 * 1024;

function isValidUtf8(sample: Buffer): boolean {
  try {
    // stream: true tolerates a multi-byte sequence cut at the end of the sample.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * Picks the encoding from the first bytes: a BOM wins; otherwise valid UTF-8 is UTF-8 and anything
 * else is windows-1252. `wholeFileIsUtf8` (from scanFile) overrides the sample's verdict, since a
 * Latin-1 "é" may first appear after the sample. NUL bytes without a UTF-16 BOM mean a binary file.
 */
export function detectEncoding(sample: Buffer, wholeFileIsUtf8?: boolean): DetectedEncoding {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf)
    return { encoding: 'utf8', bomLength: 3 };
  if (sample[0] === 0xff && sample[1] === 0xfe) return { encoding: 'utf16le', bomLength: 2 };
  if (sample[0] === 0xfe && sample[1] === 0xff) return { encoding: 'utf16be', bomLength: 2 };
  if (sample.includes(0)) {
    throw new ImportFailure('unsupported_file', 'The file contains NUL bytes: it is not a text (CSV) file');
  }
  const utf8 = wholeFileIsUtf8 ?? isValidUtf8(sample);
  return { encoding: utf8 ? 'utf8' : 'windows-1252', bomLength: 0 };
}

/** Bytes → UTF-8 text chunks. Invalid UTF-8 fails the import (`invalid_encoding`) rather than guessing. */
export function decoder(detected: DetectedEncoding): Transform {
  let skip = detected.bomLength;
  const dropBom = (chunk: Buffer): Buffer => {
    if (skip === 0) return chunk;
    const cut = Math.min(skip, chunk.length);
    skip -= cut;
    return chunk.subarray(cut);
  };
  if (detected.encoding !== 'utf8') {
    const inner = iconv.getDecoder(detected.encoding);
    return new Transform({
      readableObjectMode: true,
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        const text = inner.write(dropBom(chunk));
        done(null, text || undefined);
      },
      flush(done: TransformCallback) {
        done(null, inner.end() || undefined);
      },
    });
  }
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  const fail = (): ImportFailure =>
    new ImportFailure('invalid_encoding', `The file is not valid UTF-8 (near byte ${offset})`);
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const bytes = dropBom(chunk);
      try {
        const text = utf8.decode(bytes, { stream: true });
        offset += bytes.length;
        done(null, text || undefined);
      } catch {
        done(fail());
      }
    },
    flush(done: TransformCallback) {
      try {
        done(null, utf8.decode() || undefined);
      } catch {
        done(fail());
      }
    },
  });
}

export interface FileScan {
  sha256: string;
  size: number;
  sample: Buffer;
  encoding: DetectedEncoding;
}

/** One streaming pass over a file: SHA-256, size, first bytes and whether all of it is UTF-8. */
export async function scanFile(path: string): Promise<FileScan> {
  const hash = createHash('sha256');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let utf8Valid = true;
  let size = 0;
  const head: Buffer[] = [];
  let headLength = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    if (headLength < SAMPLE_BYTES) {
      head.push(chunk.subarray(0, SAMPLE_BYTES - headLength));
      headLength += Math.min(chunk.length, SAMPLE_BYTES - headLength);
    }
    if (utf8Valid) {
      try {
        utf8.decode(chunk, { stream: true });
      } catch {
        utf8Valid = false;
      }
    }
  }
  if (utf8Valid) {
    try {
      utf8.decode();
    } catch {
      utf8Valid = false;
    }
  }
  const sample = Buffer.concat(head);
  return { sha256: hash.digest('hex'), size, sample, encoding: detectEncoding(sample, utf8Valid) };
}
