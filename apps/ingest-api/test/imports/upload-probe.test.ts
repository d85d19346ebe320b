import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CsvUploadProbe,
  type CustomMapping,
  ImportFailure,
  prepareCsvFile,
  prepareCsvSample,
} from '@prospectflow/import-engine';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The header checks of a streamed upload (CsvUploadProbe while it streams, prepareCsvSample at the
 * end) give the verdict the spooled-file check (prepareCsvFile) gives: same encoding, delimiter,
 * mapping, or the same ImportFailure code.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-upload-probe-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const KiB = 1024;
const rows = (n: number, filler = 'Lyon') =>
  Array.from({ length: n }, (_, i) => `Société ${i};55210055${i % 10};${filler}`).join('\n');

const files: Array<[string, Buffer, CustomMapping?]> = [
  ['UTF-8 with BOM', Buffer.from(`\ufeffRaison sociale;SIREN;Ville\n${rows(10)}\n`)],
  ['UTF-8, no BOM', Buffer.from(`Raison sociale;SIREN;Ville\n${rows(10)}\n`)],
  ['windows-1252 header', Buffer.from(`Nom de l'entreprise;SIREN;Prénom\n${rows(10)}\n`, 'latin1')],
  [
    'UTF-8 header, a Latin-1 byte only after 64 KiB (windows-1252 in the end)',
    Buffer.concat([
      Buffer.from(`Nom de l'entreprise;SIREN;Prénom\n${rows(4000)}\n`),
      Buffer.from('Société;552100554;Hélène\n', 'latin1'),
    ]),
  ],
  ['comma delimiter, blank lines first', Buffer.from(`\n\n\r\nRaison sociale,SIREN\n${rows(5)}\n`)],
  ['header only, no newline', Buffer.from('Raison sociale;SIREN')],
  ['header longer than 64 KiB', Buffer.from(`SIREN;${'Colonne;'.repeat(10 * KiB)}Ville\n${rows(5)}\n`)],
  ['quoted header with a line break', Buffer.from(`"Raison\nsociale";SIREN\n${rows(5)}\n`)],
  ['no usable column', Buffer.from(`Couleur;Saveur\n${rows(5)}\n`)],
  ['same, with a mapping', Buffer.from(`Couleur;Saveur\n${rows(5)}\n`), { Couleur: 'email' }],
  ['empty file', Buffer.alloc(0)],
  ['only blank lines', Buffer.from('\n\n\n')],
  ['NUL bytes', Buffer.from('SIREN;Ville\n1\u0000;2\n')],
  ['header over 1 MiB', Buffer.from(`SIREN;${'x'.repeat(1100 * KiB)}\n1;2\n`)],
];

type Verdict =
  | { code: string }
  | { encoding: unknown; delimiter: string; columns: unknown; ignored: unknown };

async function verdict(
  run: () => Promise<{
    encoding: unknown;
    delimiter: string;
    mapping: { columns: unknown; ignored: unknown };
  }>,
) {
  try {
    const prepared = await run();
    return {
      encoding: prepared.encoding,
      delimiter: prepared.delimiter,
      columns: prepared.mapping.columns,
      ignored: prepared.mapping.ignored,
    } as Verdict;
  } catch (error) {
    if (error instanceof ImportFailure) return { code: error.code } as Verdict;
    throw error;
  }
}

/** Streams `body` through the probe in 16 KiB chunks; the early refusal (if any) or the final check. */
async function streamed(body: Buffer, mapping: CustomMapping | undefined, final: CustomMapping) {
  const probe = new CsvUploadProbe(mapping);
  const chunks = Array.from({ length: Math.ceil(body.length / (16 * KiB)) }, (_, i) =>
    body.subarray(i * 16 * KiB, (i + 1) * 16 * KiB),
  );
  let early: Verdict | undefined;
  await pipeline(Readable.from(chunks), probe, new Writable({ write: (_c, _e, done) => done() })).catch(
    (error: unknown) => {
      if (!(error instanceof ImportFailure)) throw error;
      early = { code: error.code };
    },
  );
  if (early) return early;
  const probed = probe.result();
  return verdict(() => prepareCsvSample(probed.sample, probed.wholeFileIsUtf8, final));
}

describe('streamed header checks = spooled-file checks', () => {
  it.each(files)('%s', async (name, body, mapping = {}) => {
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.csv`);
    fs.writeFileSync(file, body);
    const expected = await verdict(() => prepareCsvFile(file, mapping));
    // The mapping known while streaming (raw bodies), and known only at the end (multipart).
    expect(await streamed(body, mapping, mapping)).toEqual(expected);
    expect(await streamed(body, undefined, mapping)).toEqual(expected);
  });

  it('refuses early, from the first bytes, what no mapping can change', async () => {
    const probe = new CsvUploadProbe(undefined);
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled++;
        this.push(pulled === 1 ? Buffer.from('SIREN;Ville\n\u0000;x\n') : Buffer.alloc(64 * KiB, 0x61));
      },
    });
    await expect(
      pipeline(endless, probe, new Writable({ write: (_c, _e, done) => done() })),
    ).rejects.toMatchObject({ code: 'unsupported_file' });
    expect(pulled).toBeLessThan(10);
  });
});
