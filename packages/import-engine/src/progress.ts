import type { Pool } from 'pg';
import { inTenantUnit, type Tenant } from './tenant-unit.js';

/**
 * Publishes rows_processed from its own short transactions, so GET /v1/imports/{id} sees progress
 * while the import's data transaction is still open. Writes at most every `intervalMs`, and at
 * least every `heartbeatMs` (updated_at doubles as the heartbeat that tells a live import from
 * one whose process died).
 */
export class ProgressReporter {
  #processed = 0;
  #written = -1;
  #lastWrite = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: Pool,
    private readonly tenant: Tenant,
    private readonly importId: string,
    private readonly options: {
      intervalMs?: number;
      heartbeatMs?: number;
      onError?: (error: unknown) => void;
    } = {},
  ) {}

  start(): void {
    this.#timer = setInterval(() => this.#tick(), this.options.intervalMs ?? 500);
    this.#timer.unref();
  }

  set(processed: number): void {
    this.#processed = processed;
  }

  #tick(): void {
    const due = Date.now() - this.#lastWrite >= (this.options.heartbeatMs ?? 5000);
    if (this.#processed === this.#written && !due) return;
    const value = this.#processed;
    this.#lastWrite = Date.now();
    this.#inFlight = this.#inFlight.then(() =>
      // Independent: the import's data transaction is open on another connection meanwhile.
      inTenantUnit(
        this.pool,
        this.tenant,
        async (client) => {
          await client.query(
            `UPDATE crm.imports SET rows_processed = greatest(rows_processed, $2) WHERE id = $1 AND status = 'running'`,
            [this.importId, value],
          );
          this.#written = value;
        },
        { independent: true },
      ).catch((error) => this.options.onError?.(error)),
    );
  }

  /** Stops writing and waits for a write in flight (the data transaction updates the row next). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }
}
