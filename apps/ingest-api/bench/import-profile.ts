/** Step timings of one import (pino debug to stdout). `tsx bench/import-profile.ts [rows]` */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createImport, prepareCsvFile, runImport } from '@prospectflow/import-engine';
import pg from 'pg';
import pino from 'pino';
import { csvStream } from './import-data.js';
import { benchDatabase } from './import-db.js';

const rows = Number(process.argv[2] ?? 10_000);
const db = await benchDatabase();
const pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
const path = `/tmp/pf-profile-${rows}.csv`;
await pipeline(csvStream(rows), createWriteStream(path));
const tenant = { organisationId: db.organisationId };
const prepared = await prepareCsvFile(path);
const record = await createImport(pool, tenant, { sourceKind: 'csv' });
const started = performance.now();
const outcome = await runImport(
  pool,
  {
    importId: record.id,
    tenant,
    source: {
      kind: 'csv',
      open: () => createReadStream(path),
      encoding: prepared.encoding,
      delimiter: prepared.delimiter,
    },
  },
  pino({ level: 'debug' }),
);
console.log(
  outcome.status,
  Math.round(performance.now() - started),
  'ms',
  'status' in outcome && outcome.status === 'succeeded' ? outcome.counts : outcome,
);
await pool.end();
await db.stop();
