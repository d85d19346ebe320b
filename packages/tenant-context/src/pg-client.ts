import type { QueryConfig, QueryResult, QueryResultRow, Submittable } from 'pg';
import { UnsafeQueryError } from './errors.js';
import type { UnitConnection } from './unit-connection.js';

export function isSubmittable(value: unknown): value is Submittable {
  return typeof value === 'object' && value !== null && typeof (value as Submittable).submit === 'function';
}

// Transaction control would end (or fork) the unit's transaction; the library owns it.
const TRANSACTION_CONTROL =
  /^\s*(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b/i;

export function isTransactionControl(text: unknown): boolean {
  return typeof text === 'string' && TRANSACTION_CONTROL.test(text);
}

/**
 * The only handle tenant code gets: a checked-out connection inside the unit's transaction. It
 * cannot be released, cannot end or escape the transaction, and stops working when the unit ends,
 * so a leaked reference can never run on a connection that now serves another organisation.
 */
export type TenantClient = Pick<ScopedClient, 'organisationId' | 'query'>;

/**
 * Runs `send` now, or once the statement may go: a unit's statement issued beside (not from
 * inside) one of its nested units waits for that nested unit to end, so it never lands in the
 * nested unit's savepoint and gets undone with it.
 */
export type QueryGate = <T>(send: () => Promise<T>) => Promise<T>;

export class ScopedClient {
  #connection: UnitConnection | undefined;

  readonly #gate: QueryGate | undefined;

  constructor(
    connection: UnitConnection,
    /** '' on the system path. */
    readonly organisationId: string,
    /** Decides when a statement of this unit may go (see QueryGate). */
    gate?: QueryGate,
  ) {
    this.#connection = connection;
    this.#gate = gate;
  }

  query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<QueryResult<R>>;
  query<R extends QueryResultRow = QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>>;
  /** Streams (pg-copy-streams `copyFrom`/`copyTo`, pg-cursor, pg-query-stream) run on the unit's connection. */
  query<S extends Submittable>(stream: S): S;
  query<R extends QueryResultRow = QueryResultRow>(
    textOrConfig: string | QueryConfig | Submittable,
    values?: readonly unknown[],
    ...rest: unknown[]
  ): Promise<QueryResult<R>> | Submittable {
    const connection = this.#connection;
    if (isSubmittable(textOrConfig)) {
      // Streams are explicit objects (COPY, cursors); they run on the unit's connection and transaction.
      if (!connection) throw new UnsafeQueryError('This client belongs to a unit of work that has ended');
      return connection.submit(textOrConfig);
    }
    if (!connection)
      return Promise.reject(new UnsafeQueryError('This client belongs to a unit of work that has ended'));
    if (typeof values === 'function' || rest.length > 0) {
      // Callbacks lose the async context (node-postgres#2533); only the promise form is allowed.
      return Promise.reject(
        new UnsafeQueryError('Callback-style query() is not supported; await the promise'),
      );
    }
    const text = typeof textOrConfig === 'string' ? textOrConfig : textOrConfig?.text;
    if (
      typeof textOrConfig === 'object' &&
      textOrConfig !== null &&
      'name' in textOrConfig &&
      textOrConfig.name
    ) {
      // Named statements live on one server connection; pgBouncer 1.18 in transaction mode cannot follow them.
      return Promise.reject(
        new UnsafeQueryError('Named prepared statements are not allowed (pgBouncer transaction mode)'),
      );
    }
    if (isTransactionControl(text)) {
      return Promise.reject(
        new UnsafeQueryError(
          'Transaction control belongs to the unit of work; nest withTenantClient for a savepoint',
        ),
      );
    }
    const config =
      typeof textOrConfig === 'string'
        ? { text: textOrConfig, values: values as unknown[] | undefined }
        : (textOrConfig as QueryConfig);
    const send = () => connection.query<R>(config);
    return this.#gate ? this.#gate(send) : send();
  }

  close(): void {
    this.#connection = undefined;
  }
}
