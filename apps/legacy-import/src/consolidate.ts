import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { inTenantUnit, markFailed, SEAL_LEDGER_SQL, type Tenant } from '@prospectflow/import-engine';
import { loadSubjectKeys, type SubjectKeys } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';
import { type ArchiveCounts, archiveTable } from './archive.js';
import { describeTable, listSourceObjects, rowidAccess } from './discover.js';
import { loadErasedCheck } from './erased.js';
import { tableFate } from './fates.js';
import { createImportRecord } from './import-record.js';
import { loadSqlite } from './load.js';
import { inDatabase, type Opened, openSource } from './open-source.js';
import { readPostLoadCounts } from './post-load.js';
import type { ConsolidationReport } from './report.js';
import type { SourceDatabase } from './sources.js';
import { detectStore } from './stores.js';

export interface ConsolidateOptions {
  databases: readonly SourceDatabase[];
  tenant: Tenant;
  /** A mapping file's content (only with one database); without it the presets apply. */
  mapping?: unknown;
  /** Source name for remembered keys (only with one database); default `sqlite:<name>`. */
  source?: string;
  /**
   * The database's name (only with one database): in the archive, the report and the default key
   * namespace `sqlite:<name>`, instead of the name discovery gave it. Given explicitly, the run is
   * not refused when the name was consolidated before from another file (see checkSourceNames).
   */
  sourceName?: string;
  dryRun?: boolean;
  subjectKeys?: SubjectKeys;
  onStart?: (totalRows: number) => void;
  onRow?: () => void;
}

class DryRunRollback extends Error {}

/**
 * The message of a failed run. An organisation id that names no organisation fails on the first
 * row written (a foreign key of every tenant table): say so instead of the constraint's name.
 */
function explain(error: unknown, organisationId: string): string {
  let cause = error as { code?: string; constraint?: string; cause?: unknown } | undefined;
  while (cause && cause.code === undefined && cause.cause) cause = cause.cause as typeof cause;
  if (cause?.code === '23503' && cause.constraint?.endsWith('_organisation_id_fkey'))
    return `organisation ${organisationId} does not exist (--organisation): nothing was imported`;
  return (error as Error).message;
}

const realPath = (path: string) => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};

/**
 * Refuses (before writing anything) a database whose name or key namespace an earlier, not undone
 * consolidation of the organisation took from ANOTHER file: two stores with the same file name
 * (paris/prospects.db, lyon/prospects.db, each consolidated as a single file) would share archive
 * rows and remembered keys, and the second would overwrite the first. The latest consolidation of
 * a name says where it comes from (a store moved and confirmed once is at home at its new path).
 * Names stay what discovery gives (renaming them silently would duplicate every store consolidated
 * before); the operator decides with --source-name. Imports recorded before paths were kept pass
 * only with the same content (SHA-256).
 */
async function checkSourceNames(pool: Pool, tenant: Tenant, opened: readonly Opened[]): Promise<void> {
  const previous = await inTenantUnit(pool, tenant, async (client) => {
    const { rows } = await client.query<{
      import_id: string;
      at: Date | null;
      name: string | null;
      source: string | null;
      path: string | null;
      sha256: string | null;
    }>(
      `SELECT i.id AS import_id, i.finished_at AS at, d->>'name' AS name,
              coalesce(d->>'source', d->'mapping'->>'source', 'sqlite:' || (d->>'name')) AS source,
              d->>'path' AS path, d->>'sha256' AS sha256
         FROM crm.imports i CROSS JOIN LATERAL jsonb_array_elements(
                CASE WHEN jsonb_typeof(i.mapping->'databases') = 'array' THEN i.mapping->'databases' ELSE '[]' END) d
        WHERE i.source_kind = 'sqlite' AND i.status = 'succeeded' AND i.undone_at IS NULL
        ORDER BY i.finished_at DESC NULLS LAST`,
    );
    return rows;
  });
  const problems: string[] = [];
  for (const { report } of opened) {
    const path = realPath(report.path);
    // The latest consolidation under this name or key namespace says where it comes from now.
    // A key namespace given explicitly (--source, a mapping's source) is the operator's choice.
    const derived = report.source === `sqlite:${report.name}`;
    const other = previous.find((p) => p.name === report.name || (derived && p.source === report.source));
    if (!other || (other.path ? other.path === path : other.sha256 === report.sha256)) continue;
    const when = other.at ? ` on ${other.at.toISOString()}` : '';
    const from = other.path
      ? `from ${other.path}`
      : 'before source paths were recorded, from a file with other content';
    const suggestion = relative(dirname(dirname(path)), path);
    problems.push(
      `"${report.name}" (${report.path}) was already consolidated under that name ${from} (import ${other.import_id}${when}). ` +
        `Consolidated as is, it would overwrite that database's archived rows and typed records. ` +
        `If it is the same store (moved, or a newer copy), run it alone with --source-name ${JSON.stringify(report.name)}; ` +
        `if it is another store, run it alone with a name of its own, e.g. --source-name ${JSON.stringify(suggestion)}.`,
    );
  }
  if (problems.length > 0) throw new SourceNameConflict(problems);
}

export class SourceNameConflict extends Error {
  constructor(readonly problems: string[]) {
    super(`Refused, nothing was written:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * Consolidates SQLite databases for one organisation in ONE transaction: each database's mapped
 * tables are loaded into their typed tables, then every table (mapped or not) is archived row by
 * row, and every table, view and column is listed with its fate in legacy.source_tables and the
 * report. A dry run does the same work and rolls back. The run is one crm.imports row (source
 * kind sqlite), the import id `--undo` takes.
 */
export async function consolidate(pool: Pool, options: ConsolidateOptions): Promise<ConsolidationReport> {
  if (options.databases.length === 0) throw new Error('No SQLite database found');
  if (options.databases.length > 1 && (options.mapping || options.source || options.sourceName)) {
    throw new Error('--mapping, --source and --source-name apply to a single database');
  }
  if (options.sourceName !== undefined && options.sourceName.trim() === '') {
    throw new Error('--source-name must not be empty');
  }
  const databases = options.sourceName
    ? [{ ...options.databases[0]!, name: options.sourceName }]
    : options.databases;
  const started = performance.now();
  const opened: Opened[] = [];
  try {
    for (const source of databases) opened.push(openSource(source, options));
    if (!options.sourceName) await checkSourceNames(pool, options.tenant, opened);
    const report: ConsolidationReport = {
      organisationId: options.tenant.organisationId,
      importId: null,
      dryRun: Boolean(options.dryRun),
      status: options.dryRun ? 'dry_run' : 'succeeded',
      ms: 0,
      databases: opened.map((o) => o.report),
    };
    if (!options.dryRun) {
      const names = opened.map((o) => o.report.name);
      try {
        report.importId = await createImportRecord(pool, options.tenant, {
          fileName: (names.length === 1 ? names[0]! : `${names.length} databases: ${names.join(', ')}`).slice(
            0,
            1000,
          ),
          mapping: {
            databases: opened.map(({ report: r }) => ({
              name: r.name,
              source: r.source,
              // Where the name came from: a later run of the same name from another file is refused.
              path: realPath(r.path),
              sha256: r.sha256,
              store: r.store,
              mapping: r.mapping,
            })),
          },
        });
      } catch (error) {
        throw new Error(explain(error, options.tenant.organisationId), { cause: error });
      }
    }
    const total = opened.reduce((n, o) => n + o.report.discovered.reduce((m, t) => m + t.rows, 0), 0);
    options.onStart?.(total);
    try {
      await inTenantUnit(pool, options.tenant, async (client) => {
        const importId = report.importId ?? randomUUID();
        // Provenance contract (migration 0870): rows written in this transaction record the import.
        await client.query(
          `SELECT set_config('app.import_id', $1::text, true), set_config('app.source_kind', 'sqlite', true)`,
          [importId],
        );
        const erased = await loadErasedCheck(client, options.subjectKeys ?? loadSubjectKeys());
        for (const o of opened) await consolidateOne(pool, client, o, importId, erased, options);
        if (options.dryRun) throw new DryRunRollback();
        // The ledger `--undo` reads (migration 0962): hash of every row this import left.
        await client.query(SEAL_LEDGER_SQL);
        await recordCounts(client, report);
      });
    } catch (error) {
      if (!(error instanceof DryRunRollback)) {
        report.status = 'failed';
        report.error = explain(error, options.tenant.organisationId);
        if (report.importId) {
          await markFailed(pool, options.tenant, report.importId, 'import_failed', report.error).catch(
            () => {},
          );
        }
      }
    }
    if (report.status === 'succeeded') await readPostLoadCounts(pool, options.tenant, report);
    report.ms = Math.round(performance.now() - started);
    return report;
  } finally {
    for (const o of opened) {
      o.db.close();
      o.raw.close();
    }
  }
}

async function consolidateOne(
  pool: Pool,
  client: TenantClient,
  o: Opened,
  importId: string,
  erased: Awaited<ReturnType<typeof loadErasedCheck>>,
  options: ConsolidateOptions,
): Promise<void> {
  const { report } = o;
  // What was being read when it failed (a damaged page shows only when its table is read).
  let at = report.name;
  try {
    await consolidateTables(pool, client, o, importId, erased, options, (where) => {
      at = where;
    });
  } catch (error) {
    throw inDatabase(at, error);
  }
}

async function consolidateTables(
  pool: Pool,
  client: TenantClient,
  o: Opened,
  importId: string,
  erased: Awaited<ReturnType<typeof loadErasedCheck>>,
  options: ConsolidateOptions,
  reading: (where: string) => void,
): Promise<void> {
  const { report } = o;
  reading(`${report.name} (typed load)`);
  const typed = await loadSqlite(o.db, pool, report.mapping, {
    source: report.source,
    erased,
    onRow: options.onRow,
  });
  const store = detectStore(report.discovered.map((t) => t.name));
  for (const object of listSourceObjects(o.db)) {
    reading(`${report.name}, table ${object.name}`);
    const started = performance.now();
    const table = report.discovered.find((t) => t.name === object.name) ?? describeTable(o.db, object.name);
    const fate = tableFate(object, table, report.mapping, store);
    const typedSummary = typed.find((t) => t.table === object.name) ?? null;
    let archive: ArchiveCounts | null = null;
    if (object.kind === 'table') {
      archive = await archiveTable(o.db, client, {
        importId,
        database: report.name,
        table: object.name,
        columns: table.columns.map((c) => c.name),
        primaryKey: table.columns
          .filter((c) => c.pkOrder > 0)
          .sort((a, b) => a.pkOrder - b.pkOrder)
          .map((c) => c.name),
        rowid: rowidAccess(
          o.db,
          object.name,
          table.columns.map((c) => c.name),
        ),
        rawReader: o.raw,
        erased,
        // Rows of mapped tables were already counted once by the typed load.
        onRow: typedSummary ? undefined : options.onRow,
      });
    }
    const ms = Math.round(performance.now() - started) + (typedSummary?.ms ?? 0);
    report.tables.push({
      table: object.name,
      kind: object.kind,
      ...fate,
      read: table.rows,
      typed: typedSummary,
      archive,
      ms,
      postLoad: null,
    });
    await client.query(
      `INSERT INTO legacy.source_tables (import_id, source_database, source_table, source_kind, columns, fate, reason, rows_read)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        importId,
        report.name,
        object.name,
        object.kind,
        JSON.stringify(fate.columns),
        fate.fate,
        fate.reason,
        table.rows,
      ],
    );
  }
}

/** crm.imports keeps the typed counts (what GET /v1/imports shows) and the archive's in its mapping. */
async function recordCounts(client: TenantClient, report: ConsolidationReport): Promise<void> {
  const tables = report.databases.flatMap((d) => d.tables);
  const typed = tables.flatMap((t) => (t.typed ? [t.typed] : []));
  const sum = (k: 'read' | 'inserted' | 'updated' | 'skipped') => typed.reduce((n, t) => n + t[k], 0);
  const archive = { read: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0 };
  for (const t of tables) {
    if (!t.archive) continue;
    for (const k of Object.keys(archive) as Array<keyof typeof archive>) archive[k] += t.archive[k];
  }
  await client.query(
    `UPDATE crm.imports SET status = 'succeeded', finished_at = now(), rows_total = $2, rows_processed = $2,
            inserted = $3, updated = $4, skipped = $5, mapping = mapping || jsonb_build_object('archive', $6::jsonb)
      WHERE id = $1`,
    [report.importId, sum('read'), sum('inserted'), sum('updated'), sum('skipped'), JSON.stringify(archive)],
  );
}
