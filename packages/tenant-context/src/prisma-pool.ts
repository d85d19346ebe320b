import pg, { type PoolConfig, type QueryConfig, type QueryResult } from 'pg';
import { claimOpening, currentSingleCall } from './context.js';
import { isSubmittable } from './pg-client.js';
import { queryWithPrelude } from './pipelined-query.js';
import { settingsSql } from './settings.js';

type Callback = (error: Error | null, result?: QueryResult) => void;

function emptyResult(command: string): QueryResult {
  return { command, rowCount: null, oid: 0, rows: [], fields: [] };
}

function settle(promise: Promise<QueryResult>, callback?: Callback): Promise<QueryResult> | undefined {
  if (!callback) return promise;
  promise.then(
    (result) => callback(null, result),
    (error: Error) => callback(error),
  );
  return undefined;
}

/**
 * The pg client behind Prisma's adapter. When a tenant unit (createTenantDb) opens its interactive
 * transaction, the adapter's BEGIN is held back and sent with the tenant settings and the unit's
 * first statement in one round trip — instead of BEGIN, a Prisma raw query for the settings and
 * the statement, one round trip each. The settings come from the unit's async context and are
 * claimed once; every other use of the client passes through untouched.
 */
class TenantPipeliningClient extends pg.Client {
  #prelude: readonly string[] | undefined;

  /** Forgets a held-back BEGIN: nothing of it ever reached the server. */
  discardPrelude(): void {
    this.#prelude = undefined;
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has a dozen overloads; this forwards them all.
  override query(config: any, values?: any, callback?: any): any {
    if (isSubmittable(config)) {
      const prelude = this.#take();
      if (!prelude) return super.query(config as never, values, callback);
      // The stream goes to pg once the prelude is done, never queued behind it (deprecated in pg 8);
      // a prelude failure fails the stream's transaction too.
      const send = () => super.query(config as never);
      super.query(prelude.join('; ')).then(send, send);
      return config;
    }
    const cb: Callback | undefined = typeof values === 'function' ? values : callback;
    const params = typeof values === 'function' ? undefined : values;
    const text: unknown = typeof config === 'string' ? config : config?.text;
    if (text === 'BEGIN' && !this.#prelude) {
      const opening = claimOpening();
      if (opening) {
        this.#prelude = ['BEGIN', settingsSql(opening.settings)];
        return settle(Promise.resolve(emptyResult('BEGIN')), cb);
      }
    }
    if (this.#prelude) {
      if (text === 'COMMIT' || text === 'ROLLBACK') {
        // The unit ran no statement: its transaction never opened, so there is nothing to end.
        this.#prelude = undefined;
        return settle(Promise.resolve(emptyResult(text)), cb);
      }
      const query: QueryConfig = typeof config === 'string' ? { text: config, values: params } : config;
      return settle(queryWithPrelude(this, this.#take()!, query), cb);
    }
    return super.query(config, values, callback);
  }

  #take(): readonly string[] | undefined {
    const prelude = this.#prelude;
    this.#prelude = undefined;
    return prelude;
  }
}

/**
 * The pool behind Prisma's adapter, which sends every statement outside a transaction through
 * `query`. During a single tenant call (createTenantDb's guarded client outside a unit) such a
 * statement goes out with the settings ahead of it in the same round trip: one implicit
 * transaction that ends with the statement. The call is read when `query` is entered, in the
 * caller's async context — Prisma's adapter calls it directly from the operation.
 */
class TenantPrismaPool extends pg.Pool {
  // biome-ignore lint/suspicious/noExplicitAny: see TenantPipeliningClient.query
  override query(config: any, values?: any, callback?: any): any {
    const call = currentSingleCall();
    if (!call || isSubmittable(config) || typeof values === 'function' || typeof callback === 'function')
      return super.query(config, values, callback);
    call.carried = true;
    const query: QueryConfig =
      typeof config === 'string' ? { text: config, values } : values ? { ...config, values } : config;
    return this.#withSettings(settingsSql(call.settings), query);
  }

  async #withSettings(settings: string, query: QueryConfig): Promise<QueryResult> {
    const client = await this.connect();
    try {
      const result = await queryWithPrelude(client, [settings], query);
      client.release();
      return result;
    } catch (error) {
      // As pg.Pool.query does: a connection that failed a query is not reused.
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }
}

/**
 * A pg pool for `createPrismaClient(pool)` whose tenant units cost one round trip to open
 * (BEGIN + settings + first statement) instead of three, and whose single calls outside a unit
 * cost one round trip in all. Any pool works with createTenantDb; this one is faster. Raw SQL and
 * streams on it behave exactly like a plain pg.Pool.
 */
export function createPrismaPool(config: PoolConfig = {}): pg.Pool {
  const pool = new TenantPrismaPool({ ...config, Client: TenantPipeliningClient });
  // Belt and braces: a connection never reaches its next user with a held-back BEGIN.
  pool.on('acquire', (client) => (client as unknown as TenantPipeliningClient).discardPrelude?.());
  return pool;
}
