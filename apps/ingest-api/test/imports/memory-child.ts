/**
 * Runs one large streamed import in its own process and prints {fileBytes, baseline, peak} as
 * JSON. Spawned by memory.test.ts with a small V8 young generation so that the RSS it samples
 * reflects what the import holds, not how much garbage V8 lets pile up before collecting.
 */
import { Readable } from 'node:stream';
import { createImport, runImport } from '@prospectflow/import-engine';
import pg from 'pg';
import { PHAROW_HEADER, pharowRow, toCsv } from './helpers.js';

const [url, organisationId, rowsArg, paddingArg] = process.argv.slice(2);
const rows = Number(rowsArg);
const padding = 'x'.repeat(Number(paddingArg)); // an unmapped "Notes" column: parsed, never stored
let i = 0;
let fileBytes = 0;
const stream = new Readable({
  read() {
    let chunk = i === 0 ? toCsv([[...PHAROW_HEADER, 'Notes']]) : '';
    while (i < rows && chunk.length < 256 * 1024) chunk += toCsv([[...pharowRow(i++), padding]]);
    fileBytes += Buffer.byteLength(chunk);
    this.push(chunk.length > 0 ? chunk : null);
  },
});
const pool = new pg.Pool({ connectionString: url, max: 3 });
const tenant = { organisationId: organisationId! };
const record = await createImport(pool, tenant, { sourceKind: 'csv' });
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 10);
const outcome = await runImport(pool, {
  importId: record.id,
  tenant,
  source: { kind: 'csv', open: () => stream, encoding: { encoding: 'utf8', bomLength: 0 }, delimiter: ';' },
});
clearInterval(sampler);
await pool.end();
process.stdout.write(`${JSON.stringify({ outcome, fileBytes, baseline, peak })}\n`);
