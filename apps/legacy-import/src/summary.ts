import type { ConsolidationReport } from './report.js';
import { typedTables } from './run.js';

const pad = (v: unknown, n: number) => String(v).padStart(n);
const reasons = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([reason, n]) => `${reason}×${n}`)
    .join(', ');

/** The summary the CLI prints (the JSON report has the same numbers, and every column's fate). */
export function printSummary(report: ConsolidationReport, out: (line: string) => void): void {
  out(
    `${report.dryRun ? 'DRY RUN (rolled back) — ' : ''}${report.databases.length} database(s) → organisation ${report.organisationId}`,
  );
  report.databases.forEach((database, index) => {
    out('');
    out(
      `■ ${database.name} (${database.store ? `${database.store} store` : 'no known store'}, source "${database.source}")`,
    );
    const typed = typedTables(report, index);
    if (typed.length > 0) {
      out('table                 target       read  inserted  updated  skipped  reasons');
      for (const t of typed) {
        out(
          `${t.table.padEnd(22)}${t.target.padEnd(11)}${pad(t.read, 6)}${pad(t.inserted, 10)}${pad(t.updated, 9)}${pad(t.skipped, 9)}  ${reasons(t.skippedReasons)}`,
        );
      }
    }
    out('source table          fate        read  archived(new/changed/same/rejected)  in PostgreSQL   ms');
    for (const t of database.tables) {
      const a = t.archive;
      const archived = a ? `${a.inserted}/${a.updated}/${a.unchanged}/${a.rejected}` : '-';
      const post = t.postLoad
        ? `${t.postLoad.archived}${t.postLoad.typed === null ? '' : ` (+${t.postLoad.typed} typed)`}`
        : '-';
      out(
        `${t.table.padEnd(22)}${t.fate.padEnd(10)}${pad(t.read, 6)}  ${archived.padEnd(36)}${post.padEnd(15)}${pad(t.ms, 5)}`,
      );
      out(`    why: ${t.reason}`);
      if (a && a.rejected > 0) out(`    rejected rows: ${reasons(a.rejectedReasons)}`);
      const columns = t.columns.map((c) =>
        c.fate === 'mapped'
          ? `${c.name} → ${c.mappedTo}`
          : c.reason && c.fate !== 'rejected'
            ? `${c.name} (${c.fate}: ${c.reason})`
            : `${c.name} (${c.fate})`,
      );
      out(`    columns: ${columns.join(', ')}`);
    }
  });
  out('');
  out(
    `status: ${report.status}${report.error ? ` (${report.error})` : ''}${report.importId ? `, import ${report.importId}` : ''} in ${report.ms} ms`,
  );
}
