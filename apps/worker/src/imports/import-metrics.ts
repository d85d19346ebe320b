import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Import progress on the worker's /metrics (registered beside the outreach queue's metrics):
 * rows read from stored uploads, imports running now, and how they ended with their row counts.
 * Process-wide; a retried import counts its rows again (the rolled-back attempt read them too).
 */
export class ImportMetrics {
  readonly rowsRead: Counter;
  readonly running: Gauge;
  readonly finished: Counter<'outcome'>;
  readonly rows: Counter<'result'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.rowsRead = new Counter({
      name: 'prospectflow_worker_import_rows_read_total',
      help: 'Rows read from stored uploads and staged by imports in this process',
      registers,
    });
    this.running = new Gauge({
      name: 'prospectflow_worker_imports_running',
      help: 'Imports this process is running now',
      registers,
    });
    this.finished = new Counter({
      name: 'prospectflow_worker_imports_finished_total',
      help: 'Imports this process ran to an outcome (succeeded, or failed for a reason from the data)',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.rows = new Counter({
      name: 'prospectflow_worker_import_rows_total',
      help: 'Rows of succeeded imports by what happened to them',
      labelNames: ['result'] as const,
      registers,
    });
  }

  /** Progress callback for one import attempt: turns its running total into counter increments. */
  progressOf(): (rowsRead: number) => void {
    let counted = 0;
    return (rowsRead) => {
      if (rowsRead > counted) this.rowsRead.inc(rowsRead - counted);
      counted = rowsRead;
    };
  }
}
