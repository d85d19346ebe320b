import pg, { type QueryConfig, type QueryResult } from 'pg';
import { queryWithPrelude } from './pipelined-query.js';
import { setUnitTimeouts, timeoutsSql, type UnitTimeouts } from './timeouts.js';

/**
 * A pg pool whose every statement holds the statement timeout behind any pooler: units of work
 * (withTenantClient…) apply `timeouts` inside their transaction, and a plain `pool.query(…)` (a
 * session's user sync and membership read, a lookup across organisations) sends the same
 * transaction-local `set_config` ahead of itself in one round trip (`queryWithPrelude`: the batch
 * is one implicit transaction). No startup parameter, so a stock pgBouncer in transaction mode
 * takes it. Callbacks and submittables (cursors, streams) go through unchanged: they connect
 * themselves and open their own transaction when they need one.
 */
export class TimedPool extends pg.Pool {
  constructor(config: pg.PoolConfig, timeouts: UnitTimeouts) {
    super(config);
    setUnitTimeouts(this, timeouts);
    const settings = timeoutsSql(timeouts);
    if (!settings) return;
    const prelude = [`SELECT true${settings}`];
    const plain = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((...args: unknown[]) => {
      const [first, values] = args;
      const submittable =
        typeof first === 'object' &&
        first !== null &&
        typeof (first as { submit?: unknown }).submit === 'function';
      if (submittable || args.some((arg) => typeof arg === 'function')) return plain(...args);
      const config: QueryConfig =
        typeof first === 'string'
          ? { text: first, ...(values !== undefined ? { values: values as unknown[] } : {}) }
          : { ...(first as QueryConfig), ...(values !== undefined ? { values: values as unknown[] } : {}) };
      return this.#timed(prelude, config);
    }) as pg.Pool['query'];
  }

  async #timed(prelude: readonly string[], config: QueryConfig): Promise<QueryResult> {
    const client = await this.connect();
    try {
      const result = await queryWithPrelude(client, prelude, config);
      client.release();
      return result;
    } catch (error) {
      // A statement's error leaves the connection usable (the batch ended at its Sync); anything
      // else (the connection broke) discards it.
      client.release(error instanceof pg.DatabaseError ? undefined : (error as Error));
      throw error;
    }
  }
}
