import { createReadStream } from 'node:fs';
import { type Delimiter, detectDelimiter, readCsv } from './csv-source.js';
import { type DetectedEncoding, decoder, type FileScan, scanFile } from './encoding.js';
import type { CustomMapping, ResolvedMapping } from './mapping.js';

export interface PreparedCsv {
  scan: FileScan;
  encoding: DetectedEncoding;
  delimiter: Delimiter;
  mapping: ResolvedMapping;
}

function decodeSample(sample: Buffer, encoding: DetectedEncoding): string {
  const stream = decoder({ ...encoding, encoding: encoding.encoding });
  let text = '';
  stream.on('data', (chunk: string) => {
    text += chunk;
  });
  // The sample may end inside a multi-byte sequence: decode only what is complete.
  stream.write(sample);
  return text;
}

/**
 * Checks a spooled CSV before it is accepted: hash, encoding (whole-file UTF-8 check, else
 * windows-1252), delimiter, header and mapping. Throws ImportFailure (a 4xx) for files that can
 * never import, so such uploads fail fast instead of becoming failed imports.
 */
export async function prepareCsvFile(path: string, custom: CustomMapping = {}): Promise<PreparedCsv> {
  const scan = await scanFile(path);
  const delimiter = detectDelimiter(decodeSample(scan.sample, scan.encoding));
  const { mapping, rows } = await readCsv(createReadStream(path), {
    encoding: scan.encoding,
    delimiter,
    mapping: custom,
  });
  await rows.return(undefined);
  return { scan, encoding: scan.encoding, delimiter, mapping };
}
