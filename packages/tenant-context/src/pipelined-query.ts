import pg, { type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';

/** The parts of pg's Query and its connection that a prelude needs (pg-cursor relies on the same). */
interface WireConnection {
  parse(config: { text: string; name?: string; types?: unknown[] }): void;
  bind(config: { portal?: string; statement?: string; values?: unknown[] }): void;
  execute(config: { portal?: string; rows?: number }): void;
}
interface QueryInternals {
  prepare(connection: WireConnection): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: WireConnection): void;
}

type Callback = (error: Error | undefined, result: QueryResult) => void;

/**
 * A pg query that sends `prelude` statements ahead of itself in one extended-protocol batch: all
 * Parse/Bind/Execute messages, then one Sync, so the whole batch costs one round trip. Without a
 * BEGIN in the prelude the batch is one implicit transaction (PostgreSQL commits at the Sync), so a
 * transaction-local `set_config` in the prelude holds for this query and ends with it. Prelude
 * results are discarded; an error in any statement fails this query and skips the rest.
 * Prelude statements take no parameters: callers inline only validated literals.
 */
class PipelinedQuery extends pg.Query {
  #pending: number;

  constructor(
    private readonly prelude: readonly string[],
    config: QueryConfig,
    callback: Callback,
  ) {
    super({ ...config }, callback as never);
    this.#pending = prelude.length;
  }

  // Always the extended protocol: the simple protocol cannot carry a batch ending in a parameterised query.
  requiresPreparation(): boolean {
    return true;
  }

  prepare(connection: WireConnection): void {
    for (const text of this.prelude) {
      connection.parse({ text, name: '', types: [] });
      connection.bind({ portal: '', statement: '', values: [] });
      connection.execute({ portal: '', rows: 0 });
    }
    (pg.Query.prototype as unknown as QueryInternals).prepare.call(this, connection);
  }

  // Prelude statements are never described, so their rows arrive without a RowDescription.
  handleDataRow(message: unknown): void {
    if (this.#pending > 0) return;
    (pg.Query.prototype as unknown as QueryInternals).handleDataRow.call(this, message);
  }

  handleCommandComplete(message: unknown, connection: WireConnection): void {
    if (this.#pending > 0) {
      this.#pending--;
      return;
    }
    (pg.Query.prototype as unknown as QueryInternals).handleCommandComplete.call(this, message, connection);
  }
}

export interface QueryRunner {
  query(query: PipelinedQuery): unknown;
}

/** Runs `config` on `client` with `prelude` sent in the same round trip; resolves with the query's own result. */
export function queryWithPrelude<R extends QueryResultRow = QueryResultRow>(
  client: QueryRunner,
  prelude: readonly string[],
  config: QueryConfig,
): Promise<QueryResult<R>> {
  return new Promise((resolve, reject) => {
    client.query(
      new PipelinedQuery(prelude, config, (error, result) =>
        error ? reject(error) : resolve(result as QueryResult<R>),
      ),
    );
  });
}
