import type { PoolClient, QueryConfig, QueryResult, QueryResultRow, Submittable } from 'pg';
import { queryWithPrelude } from './pipelined-query.js';

/** pg calls this on the active query once the server is ready again (pg-cursor relies on it too). */
interface ReadyAware {
  handleReadyForQuery?: (...args: unknown[]) => void;
}

/**
 * A unit of work's pooled connection whose transaction opens lazily: BEGIN and the tenant settings
 * travel with the unit's first statement, in the same round trip. A unit that never queries never
 * opens a transaction at all.
 *
 * Statements run one after another, in call order, each handed to pg only once the previous one
 * is finished (streams included): callers may overlap calls, but the pg client never gets a query
 * while it is executing one (deprecated in pg 8, removed in pg 9).
 */
export class UnitConnection {
  #prelude: readonly string[] | undefined;
  #preludeError: unknown;
  #tail: Promise<unknown> = Promise.resolve();

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
    return this.#next(() =>
      prelude ? queryWithPrelude<R>(this.client, prelude, config) : this.client.query<R>(config),
    );
  }

  /**
   * Streams (COPY, cursors) cannot carry a prelude: it goes first on its own. The stream is
   * returned at once and handed to pg in its turn (pg itself would have queued it the same way);
   * the next statement waits until pg is done with it.
   */
  submit<S extends Submittable>(stream: S): S {
    const prelude = this.#takePrelude();
    const done = finished(stream, this.client);
    this.#next(async () => {
      if (prelude) {
        // A failure aborts the transaction, so the stream fails too; settled() rethrows it.
        await this.client.query(prelude.join('; ')).catch((error: unknown) => {
          this.#preludeError = error;
        });
      }
      this.client.query(stream);
      await done;
    });
    return stream;
  }

  /** Waits for every statement handed to the connection; rethrows a failed stand-alone prelude. */
  async settled(): Promise<void> {
    await this.#tail;
    if (this.#preludeError) throw this.#preludeError;
  }

  #next<T>(run: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(run);
    this.#tail = result.catch(() => {});
    return result;
  }

  #takePrelude(): readonly string[] | undefined {
    const prelude = this.#prelude;
    this.#prelude = undefined;
    return prelude;
  }
}

/**
 * Settles once pg is done with the stream: the server's ReadyForQuery reached it (after success or
 * an error), or the connection ended.
 */
function finished(stream: Submittable, client: PoolClient): Promise<void> {
  const target = stream as unknown as ReadyAware;
  return new Promise<void>((resolve) => {
    const done = () => {
      client.off('end', done);
      resolve();
    };
    client.once('end', done);
    const original = target.handleReadyForQuery;
    target.handleReadyForQuery = function (this: unknown, ...args: unknown[]) {
      try {
        return original?.apply(this, args);
      } finally {
        done();
      }
    };
  });
}
