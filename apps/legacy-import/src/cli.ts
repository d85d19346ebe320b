#!/usr/bin/env node
/**
 * Legacy SQLite consolidation (seed 004, issue 18). Commands:
 *   import:sqlite <file.db | directory>... --organisation <uuid> [options]   consolidate
 *   import:sqlite export --organisation <uuid> [--database …] [--table …]    the archive as JSON Lines
 *   import:sqlite undo <import id> --organisation <uuid> [--dry-run]          (also --undo <id>)
 * Connects with DATABASE_URL (role prospectflow_app: RLS applies with the organisation set per
 * transaction), falling back to MIGRATION_DATABASE_URL (the owner role is still bound by FORCE ROW
 * LEVEL SECURITY) for operators who only hold migration credentials.
 */
import {
  accessSync,
  constants,
  createWriteStream,
  existsSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import cliProgress from 'cli-progress';
import pg from 'pg';
import { consolidate } from './consolidate.js';
import { discover } from './discover.js';
import { exportArchive, toJsonLine } from './export.js';
import { proposeMapping } from './presets.js';
import { findDatabases } from './sources.js';
import { printSummary } from './summary.js';
import { runUndo } from './undo-cli.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const USAGE = `Usage:
  import:sqlite <file.db | directory>... --organisation <uuid> [--dry-run] [--report <report.json>]
                [--mapping <mapping.json>] [--source <name>] [--source-name <name>]
                                              (these three: one database only)
  import:sqlite <file.db> --propose            print what was discovered and the proposed mapping
  import:sqlite export --help                  the archive as JSON Lines
  import:sqlite undo --help                    undo an import (also: --undo <import id>)

Directories are searched recursively for SQLite files (by their header, whatever the extension).
Every table of every database ends somewhere: the presets (analysis, prompts and governance
stores; legacy prospects) load some into typed tables, and EVERY row of every table is archived
as it was in legacy.archive_rows. One import id for the whole run; one transaction.
A database is named by its path relative to the directory given (a file given: its file name).
A run is refused when a name was consolidated before from another file (two offices'
prospects.db): --source-name <name> names the one database of the run (the same name to confirm
it is the same store moved or copied, another name for another store).
--source <name> only renames the namespace of remembered keys (default sqlite:<name>).
Env: DATABASE_URL (role prospectflow_app) or MIGRATION_DATABASE_URL; PRIVACY_HMAC_KEYS (erased
people are never imported again).
`;

const EXPORT_USAGE = `Usage: import:sqlite export --organisation <uuid> [--database <name>] [--table <name>]
                            [--import <import id>] [--out <file.jsonl>]
Writes the organisation's archived rows as JSON Lines (stdout by default), one object per row:
{"database", "table", "key", "importId", "row": {column: value}} where a value is a JSON number
(INTEGER, all 64 bits; REAL always with a fraction), a string (TEXT), {"$blob": base64},
{"$text": base64} (TEXT that is not valid UTF-8), {"$real": "Infinity" | "-Infinity" | "-0"}
(reals JSON or jsonb cannot hold) or null.
`;

function fail(message: string, usage: string): never {
  process.stderr.write(`${message}\n\n${usage}`);
  process.exit(2);
}

/**
 * Refuses, before anything is read or written, a file the command could not write at the end (a
 * missing folder, a directory, no permission): an import that committed and then could not write
 * its report ended "failed" (exit 1) with the report lost; an export died on an unhandled error.
 */
function checkWritable(path: string, what: string, usage: string): void {
  try {
    if (!existsSync(path)) accessSync(dirname(path), constants.W_OK);
    else if (statSync(path).isDirectory()) throw new Error('it is a directory');
    else accessSync(path, constants.W_OK);
  } catch (error) {
    fail(`Cannot write the ${what} ${path}: ${(error as Error).message}`, usage);
  }
}

// pnpm runs package scripts in the package directory; INIT_CWD is where the operator typed the
// command — unless a forwarding script (the root's and ingest-api's import:sqlite) ran pnpm again
// from its own directory, which resets INIT_CWD there: those pass the first one on as
// PROSPECTFLOW_CALLER_CWD.
const fromCaller = (path: string) =>
  resolve(process.env.PROSPECTFLOW_CALLER_CWD || process.env.INIT_CWD || process.cwd(), path);

export function connect(usage: string): pg.Pool {
  const url = process.env.DATABASE_URL || process.env.MIGRATION_DATABASE_URL;
  if (!url) fail('Set DATABASE_URL (role prospectflow_app) or MIGRATION_DATABASE_URL', usage);
  return new pg.Pool({ connectionString: url, max: 3, application_name: 'import-sqlite' });
}

export function organisation(value: string | undefined, usage: string): string {
  if (!value) fail('Missing --organisation <uuid>', usage);
  if (!UUID.test(value)) fail('--organisation must be a uuid', usage);
  return value;
}

/** parseArgs, but an unknown option or a missing value is refused with the usage (exit 2). */
function parseOrRefuse<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    fail((error as Error).message, usage);
  }
}

async function exportCommand(args: string[]): Promise<number> {
  const { values } = parseOrRefuse(
    {
      args,
      options: {
        organisation: { type: 'string' },
        database: { type: 'string' },
        table: { type: 'string' },
        import: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    },
    EXPORT_USAGE,
  );
  if (values.help) {
    process.stdout.write(EXPORT_USAGE);
    return 0;
  }
  const organisationId = organisation(values.organisation, EXPORT_USAGE);
  if (values.import && !UUID.test(values.import)) fail('--import must be a uuid', EXPORT_USAGE);
  if (values.out) checkWritable(fromCaller(values.out), 'export', EXPORT_USAGE);
  const pool = connect(EXPORT_USAGE);
  const out: NodeJS.WritableStream = values.out ? createWriteStream(fromCaller(values.out)) : process.stdout;
  // A write that fails later (disk full) ends the export with its message, not an unhandled error.
  let writeError: Error | undefined;
  out.on('error', (error: Error) => {
    writeError = error;
  });
  let n = 0;
  try {
    for await (const row of exportArchive(
      pool,
      { organisationId },
      {
        database: values.database,
        table: values.table,
        importId: values.import,
      },
    )) {
      if (writeError) throw writeError;
      if (!out.write(`${toJsonLine(row)}\n`))
        await new Promise<void>((r) => {
          out.once('drain', () => r());
          out.once('error', () => r());
        });
      n++;
    }
  } finally {
    await pool.end();
    if (out !== process.stdout && !writeError) await new Promise<void>((r) => out.end(() => r()));
  }
  if (writeError) throw writeError;
  process.stderr.write(`${n} archived row(s) exported\n`);
  return 0;
}

/** The --mapping file's JSON (refused with its path and the parser's message when it is not JSON). */
function readMappingFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    fail(`Cannot read the mapping file ${path}: ${(error as Error).message}`, USAGE);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    fail(
      `The mapping file ${path} is not JSON (${(error as Error).message}). Write it with \`pnpm -s import:sqlite <file> --propose > ${path}\`: without -s, pnpm adds its own lines.`,
      USAGE,
    );
  }
}

async function importCommand(args: string[]): Promise<number> {
  // `--undo <id>` is the undo command with its own options (--json…): hand it over whole.
  const undoAt = args.findIndex((a) => a === '--undo' || a.startsWith('--undo='));
  if (undoAt >= 0) {
    const flag = args[undoAt]!;
    const inline = flag.startsWith('--undo=');
    const id = inline ? flag.slice('--undo='.length) : args[undoAt + 1];
    const rest = args.filter((_, i) => i !== undoAt && (inline || i !== undoAt + 1));
    return await runUndo(id === undefined ? rest : [id, ...rest], connect, organisation);
  }
  const { values, positionals } = parseOrRefuse(
    {
      args,
      allowPositionals: true,
      options: {
        organisation: { type: 'string' },
        mapping: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        propose: { type: 'boolean', default: false },
        source: { type: 'string' },
        'source-name': { type: 'string' },
        report: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length === 0) fail('Missing the SQLite file(s) or directory', USAGE);
  const databases = findDatabases(positionals.map(fromCaller));
  if (values.propose) {
    if (databases.length !== 1) fail('--propose takes one SQLite file', USAGE);
    const db = new Database(databases[0]!.path, { readonly: true, fileMustExist: true });
    const discovered = discover(db);
    db.close();
    process.stdout.write(
      `${JSON.stringify({ discovered, proposedMapping: proposeMapping(discovered) }, null, 2)}\n`,
    );
    return 0;
  }
  const organisationId = organisation(values.organisation, USAGE);
  const mapping = values.mapping ? readMappingFile(fromCaller(values.mapping)) : undefined;
  // Where the report goes, checked before anything is imported (the default name of a run over
  // several databases carries its import id: only its folder is known now).
  const reportPath = (importId: string | null) =>
    values.report
      ? fromCaller(values.report)
      : databases.length === 1
        ? `${databases[0]!.path}.import-report.json`
        : fromCaller(`consolidation-${importId ?? 'dry-run'}.json`);
  checkWritable(reportPath(null), 'report', USAGE);
  const pool = connect(USAGE);
  const bar = new cliProgress.SingleBar(
    { format: 'importing [{bar}] {percentage}% | {value}/{total} rows', stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  try {
    const report = await consolidate(pool, {
      databases,
      tenant: { organisationId },
      mapping,
      dryRun: values['dry-run'],
      source: values.source,
      sourceName: values['source-name'],
      onStart: (total) => bar.start(total, 0),
      onRow: () => bar.increment(),
    });
    bar.stop();
    printSummary(report, (line) => process.stdout.write(`${line}\n`));
    const written = reportPath(report.importId);
    writeFileSync(written, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`report: ${written}\n`);
    return report.status === 'failed' ? 1 : 0;
  } finally {
    bar.stop();
    await pool.end();
  }
}

async function main(args: string[]): Promise<number> {
  // `pnpm import:sqlite -- --help`: pnpm passes its `--` through; it separates nothing here.
  const argv = args[0] === '--' ? args.slice(1) : args;
  if (argv[0] === 'export') return await exportCommand(argv.slice(1));
  if (argv[0] === 'undo') return await runUndo(argv.slice(1), connect, organisation);
  return await importCommand(argv);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`import:sqlite failed: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
