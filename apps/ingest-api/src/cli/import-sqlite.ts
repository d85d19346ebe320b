#!/usr/bin/env node
/**
 * Legacy SQLite import (seed 004):
 *   pnpm --filter @prospectflow/ingest-api import:sqlite <file> --organisation <id>
 *        [--mapping <file.json>] [--dry-run] [--propose] [--source <name>] [--report <file.json>]
 * Connects with DATABASE_URL (role prospectflow_app: least privilege, RLS applies with the
 * organisation set per transaction), falling back to MIGRATION_DATABASE_URL (the owner role is
 * still bound by FORCE ROW LEVEL SECURITY) for operators who only hold migration credentials.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import cliProgress from 'cli-progress';
import pg from 'pg';
import { discover } from '../imports/sqlite/discover.js';
import { proposeMapping } from '../imports/sqlite/presets.js';
import { importSqlite } from '../imports/sqlite/run.js';
import { printSummary } from '../imports/sqlite/summary.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function usage(message?: string): never {
  if (message) process.stderr.write(`${message}\n\n`);
  process.stderr.write(
    'Usage: import:sqlite <file.db> --organisation <uuid> [--mapping <mapping.json>] [--dry-run] [--propose]\n' +
      '                     [--source <name>] [--report <report.json>]\n',
  );
  process.exit(2);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      organisation: { type: 'string' },
      mapping: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      propose: { type: 'boolean', default: false },
      source: { type: 'string' },
      report: { type: 'string' },
    },
  });
  const file = positionals[0] ?? usage('Missing the SQLite file');
  if (values.propose) {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    const discovered = discover(db);
    db.close();
    process.stdout.write(
      `${JSON.stringify({ discovered, proposedMapping: proposeMapping(discovered) }, null, 2)}\n`,
    );
    return 0;
  }
  const organisationId = values.organisation ?? usage('Missing --organisation <uuid>');
  if (!UUID.test(organisationId)) usage('--organisation must be a uuid');
  const url = process.env.DATABASE_URL || process.env.MIGRATION_DATABASE_URL;
  if (!url) usage('Set DATABASE_URL (role prospectflow_app) or MIGRATION_DATABASE_URL');
  const mapping = values.mapping ? JSON.parse(readFileSync(values.mapping, 'utf8')) : undefined;
  const pool = new pg.Pool({ connectionString: url, max: 3, application_name: 'import-sqlite' });
  const bar = new cliProgress.SingleBar(
    { format: 'importing [{bar}] {percentage}% | {value}/{total} rows', stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  try {
    const report = await importSqlite(pool, {
      file,
      tenant: { organisationId },
      mapping,
      dryRun: values['dry-run'],
      source: values.source,
      onStart: (total) => bar.start(total, 0),
      onRow: () => bar.increment(),
    });
    bar.stop();
    printSummary(report, (line) => process.stdout.write(`${line}\n`));
    const reportPath = values.report ?? `${file}.import-report.json`;
    writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`report: ${reportPath}\n`);
    return report.status === 'failed' ? 1 : 0;
  } finally {
    bar.stop();
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`import:sqlite failed: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
