import type { SqliteImportReport } from './run.js';

/** The per-table summary the CLI prints (the JSON report has the same numbers). */
export function printSummary(report: SqliteImportReport, out: (line: string) => void): void {
  out(
    `${report.dryRun ? 'DRY RUN (rolled back) — ' : ''}${report.file} → organisation ${report.organisationId} (source "${report.source}")`,
  );
  out('table                 target       read  inserted  updated  skipped  reasons');
  for (const t of report.tables) {
    const reasons = Object.entries(t.skippedReasons)
      .map(([reason, n]) => `${reason}×${n}`)
      .join(', ');
    out(
      `${t.table.padEnd(22)}${t.target.padEnd(11)}${String(t.read).padStart(6)}${String(t.inserted).padStart(10)}${String(t.updated).padStart(9)}${String(t.skipped).padStart(9)}  ${reasons}`,
    );
  }
  out(
    `status: ${report.status}${report.error ? ` (${report.error})` : ''}${report.importId ? `, import ${report.importId}` : ''}`,
  );
}
