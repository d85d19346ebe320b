import type { PoolClient, QueryConfig, QueryResult, QueryResultRow, Submittable } from 'pg';
import { queryWithPrelude } from './pipelined-query.js';

/**
 * A unit of work's pooled connection whose transaction opens lazily: BEGIN and the tenant settings
 * travel with the unit's first statement, in the same round trip. A unit that never queries never
 * opens a transaction at all.
 */
export class UnitConnection {
  #prelude: readonly string[] | undefined;
  #preludeSentAlone: Promise<unknown> | undefined;

  constructor(
    readonly client: PoolClient,
    prelude: readonly string[],
  ) {
    this.#prelude = prelude;
  }

  /** True once the transaction has been opened (or its opening sent). */
  get begun(): boolean {
    return this.#prelude === undefined;
  }

  query<R extends QueryResultRow = QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>> {
    const prelude = this.#takePrelude();
    return prelude ? queryWithPrelude<R>(this.client, prelude, config) : this.client.query<R>(config);
  }

  /** Streams (COPY, cursors) cannot carry a prelude: it goes first on its own, queued ahead of them. */
  submit<S extends Submittable>(stream: S): S {
    const prelude = this.#takePrelude();
    if (prelude) {
      this.#preludeSentAlone = this.client.query(prelude.join('; '));
      this.#preludeSentAlone.catch(() => {}); // surfaced by settled()
    }
    return this.client.query(stream);
  }

  /** Rethrows a failure of a prelude that was sent on its own ahead of a stream. */
  async settled(): Promise<void> {
    await this.#preludeSentAlone;
  }

  #takePrelude(): readonly string[] | undefined {
    const prelude = this.#prelude;
    this.#prelude = undefined;
    return prelude;
  }
}
