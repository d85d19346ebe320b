import pg, { type PoolConfig, type QueryConfig, type QueryResult } from 'pg';
import { claimOpening } from './context.js';
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
      if (prelude) super.query(prelude.join('; ')).catch(() => {}); // a failure fails the stream's transaction too
      return super.query(config as never, values, callback);
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
 * A pg pool for `createPrismaClient(pool)` whose tenant units cost one round trip to open
 * (BEGIN + settings + first statement) instead of three. Any pool works with createTenantDb; this
 * one is faster. Raw SQL and streams on it behave exactly like a plain pg.Pool.
 */
export function createPrismaPool(config: PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ ...config, Client: TenantPipeliningClient });
  // Belt and braces: a connection never reaches its next user with a held-back BEGIN.
  pool.on('acquire', (client) => (client as unknown as TenantPipeliningClient).discardPrelude?.());
  return pool;
}
