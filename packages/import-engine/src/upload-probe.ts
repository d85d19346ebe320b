import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { type Delimiter, detectDelimiter, readCsv } from './csv-source.js';
import { type DetectedEncoding, decoder, detectEncoding, SAMPLE_BYTES } from './encoding.js';
import { ImportFailure } from './errors.js';
import type { CustomMapping, ResolvedMapping } from './mapping.js';

/** A header longer than csv-parse's record limit (1 MiB) is refused as record_too_large anyway. */
const HEADER_CAP = 1024 * 1024 + SAMPLE_BYTES;

/** Failures that no mapping can change: refused while the upload streams, whatever comes later. */
const MAPPING_INDEPENDENT = new Set([
  'unsupported_file',
  'empty_file',
  'record_too_large',
  'invalid_encoding',
]);

export interface PreparedSample {
  encoding: DetectedEncoding;
  delimiter: Delimiter;
  mapping: ResolvedMapping;
}

/** Decodes bytes to text; a multi-byte sequence cut at the end of `bytes` is left out. */
function decodeText(bytes: Buffer, encoding: DetectedEncoding): string {
  const stream = decoder(encoding);
  let text = '';
  stream.on('data', (chunk: string) => {
    text += chunk;
  });
  stream.on('error', () => {});
  stream.write(bytes);
  return text;
}

/**
 * Where the header record ends in `text`: the first line break outside quotes after a non-empty
 * line (csv-parse skips empty lines), or -1 when the header may continue past `text`.
 */
function headerEnd(text: string): number {
  let quoted = false;
  let content = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) {
      if (content) return i;
    } else content = true;
  }
  return -1;
}

/**
 * The header checks of an upload from its first bytes: encoding (`wholeFileIsUtf8` from the
 * stream decides between UTF-8 and windows-1252, as scanFile does), delimiter, header row and
 * mapping. Throws ImportFailure (a 4xx) for files that can never import. `sample` holds at least
 * the header record (see CsvUploadProbe).
 */
export async function prepareCsvSample(
  sample: Buffer,
  wholeFileIsUtf8: boolean | undefined,
  custom: CustomMapping = {},
): Promise<PreparedSample> {
  const encoding = detectEncoding(sample.subarray(0, SAMPLE_BYTES), wholeFileIsUtf8);
  const text = decodeText(sample, encoding);
  const end = headerEnd(text);
  const header = end < 0 ? text : text.slice(0, end + 1);
  const delimiter = detectDelimiter(text);
  const { mapping, rows } = await readCsv(Readable.from([Buffer.from(header, 'utf8')]), {
    encoding: { encoding: 'utf8', bomLength: 0 },
    delimiter,
    mapping: custom,
  });
  await rows.return(undefined);
  return { encoding, delimiter, mapping };
}

export interface ProbedUpload {
  sha256: string;
  size: number;
  /** The first bytes: at least SAMPLE_BYTES (or the whole file) and the whole header record. */
  sample: Buffer;
  wholeFileIsUtf8: boolean;
}

/**
 * A pass-through for an upload on its way to storage: hashes and counts every byte, checks that
 * the whole file is UTF-8 (else it is windows-1252), keeps the first bytes, and checks the header
 * as soon as it has arrived — failing the stream (so the upload is aborted) with the ImportFailure
 * the file would get at the end. `mapping`: the request's mapping when already known; without it,
 * only the failures no mapping can change are raised early (the caller checks the rest at the end
 * with prepareCsvSample). Nothing but the sample is kept: memory stays bounded.
 */
export class CsvUploadProbe extends Transform {
  readonly #hash = createHash('sha256');
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true });
  #utf8Valid = true;
  #size = 0;
  #head: Buffer[] = [];
  #headLength = 0;
  #checked = false;
  #lineBreaks = false;

  constructor(readonly mapping?: CustomMapping) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    if (this.#utf8Valid) {
      try {
        this.#utf8.decode(chunk, { stream: true });
      } catch {
        this.#utf8Valid = false;
      }
    }
    if (this.#checked) {
      done(null, chunk);
      return;
    }
    if (this.#headLength < HEADER_CAP) {
      const part = chunk.subarray(0, HEADER_CAP - this.#headLength);
      this.#head.push(part);
      this.#headLength += part.length;
      // A header can only end on a line break: without one, no need to look (CR/LF bytes are the
      // same in every supported encoding, UTF-16 included).
      if (part.includes(0x0a) || part.includes(0x0d)) this.#lineBreaks = true;
    }
    if (!this.#headerArrived()) {
      done(null, chunk);
      return;
    }
    this.#earlyCheck().then(
      () => done(null, chunk),
      (error: unknown) => done(error as Error),
    );
  }

  override _flush(done: TransformCallback): void {
    if (this.#utf8Valid) {
      try {
        this.#utf8.decode();
      } catch {
        this.#utf8Valid = false;
      }
    }
    if (this.#checked) {
      done();
      return;
    }
    this.#earlyCheck().then(
      () => done(),
      (error: unknown) => done(error as Error),
    );
  }

  /** What streamed through; call once the stream has ended. */
  result(): ProbedUpload {
    return {
      sha256: this.#hash.digest('hex'),
      size: this.#size,
      sample: this.#sample(),
      wholeFileIsUtf8: this.#utf8Valid,
    };
  }

  #sample(): Buffer {
    if (this.#head.length > 1) this.#head = [Buffer.concat(this.#head)];
    return this.#head[0] ?? Buffer.alloc(0);
  }

  #headerArrived(): boolean {
    if (this.#headLength >= HEADER_CAP) return true;
    if (this.#headLength < SAMPLE_BYTES || !this.#lineBreaks) return false;
    const sample = this.#sample();
    try {
      return headerEnd(decodeText(sample, detectEncoding(sample.subarray(0, SAMPLE_BYTES)))) >= 0;
    } catch {
      return true; // NUL bytes: refused by the check
    }
  }

  /**
   * The header check on what has arrived. The encoding may still change (a Latin-1 byte after the
   * sample turns UTF-8 into windows-1252): a header refused under the sample's UTF-8 verdict but
   * valid as windows-1252 is left to the caller's check at the end.
   */
  async #earlyCheck(): Promise<void> {
    this.#checked = true;
    const sample = this.#sample();
    const known = this.mapping;
    const refuse = (error: unknown) =>
      !(error instanceof ImportFailure) || known !== undefined || MAPPING_INDEPENDENT.has(error.code);
    try {
      await prepareCsvSample(sample, undefined, known);
    } catch (error) {
      if (!refuse(error)) return;
      // Only a BOM-less UTF-8 verdict can still change (to windows-1252, never the other way).
      const verdict =
        error instanceof ImportFailure ? detectEncoding(sample.subarray(0, SAMPLE_BYTES)) : null;
      if (verdict?.encoding === 'utf8' && verdict.bomLength === 0) {
        const alternative = await prepareCsvSample(sample, false, known).then(
          () => undefined,
          (other: unknown) => other,
        );
        if (alternative === undefined || !refuse(alternative)) return;
      }
      throw error;
    }
  }
}
