import { parseArgs } from 'node:util';
import { inTenantUnit, UndoRefused, type UndoReport, undoImport } from '@prospectflow/import-engine';
import type pg from 'pg';

export const UNDO_USAGE = `Usage: import:sqlite undo <import id> --organisation <uuid> [--dry-run] [--json]
       import:sqlite --undo <import id> --organisation <uuid> [--dry-run] [--json]
Undoes one import (SQLite consolidation, CSV or JSON) from its ledger, in one transaction:
deletes the rows it created and restores the rows it updated (their values before the import).
When a row was changed or deleted since, or something created since depends on a row it created,
nothing is changed: the conflicts are listed and the exit code is 3. --dry-run shows the plan.
Env: DATABASE_URL (role prospectflow_app) or MIGRATION_DATABASE_URL.
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function print(report: UndoReport, out: (line: string) => void): void {
  out(`${report.dryRun ? 'DRY RUN — ' : ''}undo of import ${report.importId}`);
  out('table                     delete  restore  gone (deleted since, nothing to do)');
  for (const [table, c] of Object.entries(report.tables)) {
    out(
      `${table.padEnd(26)}${String(c.delete).padStart(6)}${String(c.restore).padStart(9)}${String(c.gone).padStart(6)}`,
    );
  }
  if (report.conflicts.length > 0) {
    out(`${report.conflicts.length} conflict(s): nothing was changed`);
    for (const c of report.conflicts) out(`  ${c.table} ${c.rowId}: ${c.reason}`);
  }
  out(report.applied ? 'undone' : report.dryRun ? 'nothing changed (dry run)' : 'not undone');
}

const parseUndoArgs = (args: string[]) =>
  parseArgs({
    args,
    allowPositionals: true,
    options: {
      organisation: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });

/** `undo <id>`: exit 0 undone (or dry run), 3 conflicts, 4 refused (unknown, running, failed, already undone). */
export async function runUndo(
  args: string[],
  connect: (usage: string) => pg.Pool,
  organisation: (value: string | undefined, usage: string) => string,
): Promise<number> {
  let parsed: ReturnType<typeof parseUndoArgs>;
  try {
    parsed = parseUndoArgs(args);
  } catch (error) {
    // An unknown option is refused before anything is done (exit 2), like every CLI of the repository.
    process.stderr.write(`${(error as Error).message}\n\n${UNDO_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(UNDO_USAGE);
    return 0;
  }
  const importId = positionals[0];
  if (!importId || !UUID.test(importId) || positionals.length > 1) {
    process.stderr.write(`Give the import id (a uuid), once\n\n${UNDO_USAGE}`);
    return 2;
  }
  const organisationId = organisation(values.organisation, UNDO_USAGE);
  const pool = connect(UNDO_USAGE);
  try {
    const report = await inTenantUnit(pool, { organisationId }, (client) =>
      undoImport(client, importId, { dryRun: values['dry-run'] }),
    );
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else print(report, (line) => process.stdout.write(`${line}\n`));
    return report.conflicts.length > 0 ? 3 : 0;
  } catch (error) {
    if (error instanceof UndoRefused) {
      process.stderr.write(`${error.code}: ${error.message}\n`);
      return 4;
    }
    throw error;
  } finally {
    await pool.end();
  }
}
