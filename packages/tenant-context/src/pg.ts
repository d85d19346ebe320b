import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import {
  activeUnit,
  currentScope,
  currentTenant,
  runInUnit,
  runWithTenant,
  type TenantContext,
} from './context.js';
import {
  PoolTimeoutError,
  SystemScopeError,
  TenantMismatchError,
  TransactionAbortedError,
  UnsafeQueryError,
} from './errors.js';
import { Mutex } from './mutex.js';
import { isTransactionControl, type QueryGate, ScopedClient, type TenantClient } from './pg-client.js';
import { queryWithPrelude } from './pipelined-query.js';
import { settingsSql, type UnitSettings, unitPrelude } from './settings.js';
import { unitTimeouts } from './timeouts.js';
import { UnitConnection } from './unit-connection.js';

export interface PgUnitOptions {
  /**
   * How long to wait for a pooled connection when the pool has no `connectionTimeoutMillis` of its
   * own (pg's default 0 waits forever). Default 5000 ms. A pool-level timeout takes precedence.
   */
  acquireTimeoutMs?: number;
  /**
   * Start a separate transaction on its own connection even when a unit of work on this pool is
   * already open (same organisation only) — e.g. import progress that must commit even if the
   * surrounding unit rolls back. Default false: nested calls become savepoints.
   */
  independent?: boolean;
}

interface PgUnit {
  readonly connection: UnitConnection;
  readonly organisationId: string;
  readonly depth: number;
  /** Serialises this unit's direct children so their savepoints never interleave. */
  readonly children: Mutex;
  /** How many direct children are open or waiting (their savepoint holds the connection). */
  readonly state: { openChildren: number };
}

/**
 * The unit's own statements wait for its open nested units unless they are issued from inside
 * one (the unit's client used within a nested unit belongs to it): a statement sent beside a
 * nested unit would run in that unit's savepoint and vanish, reported as done, when it rolls back.
 */
function gateFor(pool: Pool, self: PgUnit): QueryGate {
  return (send) => {
    if (self.state.openChildren === 0) return send();
    const caller = activeUnit<PgUnit>(pool);
    if (caller && caller.connection === self.connection && caller.depth > self.depth) return send();
    return self.children.run(send);
  };
}

const DEFAULT_ACQUIRE_TIMEOUT_MS = 5000;

function poolTimeout(ms: number, cause?: unknown): PoolTimeoutError {
  return new PoolTimeoutError(
    `No database connection became free within ${ms} ms (pool exhausted or database unreachable); ` +
      'raise the pool size or connectionTimeoutMillis, or shorten units of work',
    { cause },
  );
}

/**
 * While a client is checked out, pg emits a server-side termination (idle-in-transaction timeout,
 * admin kill, pooler restart) as an 'error' event on the client, which crashes the process when
 * nobody listens. The unit's next query rejects anyway, so the event is only swallowed here.
 */
function ignoreTermination(): void {}

function hold(client: PoolClient): PoolClient {
  client.on('error', ignoreTermination);
  const release = client.release.bind(client);
  client.release = (error?: Error | boolean) => {
    client.removeListener('error', ignoreTermination);
    return release(error);
  };
  return client;
}

async function checkout(pool: Pool, options: PgUnitOptions): Promise<PoolClient> {
  return hold(await acquire(pool, options));
}

async function acquire(pool: Pool, options: PgUnitOptions): Promise<PoolClient> {
  const configured = (pool as { options?: { connectionTimeoutMillis?: number } }).options
    ?.connectionTimeoutMillis;
  if (configured && configured > 0) {
    try {
      return await pool.connect();
    } catch (error) {
      if (/timeout/i.test((error as Error)?.message ?? '')) throw poolTimeout(configured, error);
      throw error;
    }
  }
  const limit = options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS;
  const pending = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), limit);
  });
  try {
    const winner = await Promise.race([pending, expired]);
    if (winner === 'expired') {
      // The connection may still arrive later: hand it straight back.
      pending.then((client) => client.release()).catch(() => {});
      throw poolTimeout(limit);
    }
    return winner;
  } finally {
    clearTimeout(timer);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

async function runNested<T>(
  pool: Pool,
  parent: PgUnit,
  fn: (client: TenantClient) => Promise<T>,
): Promise<T> {
  parent.state.openChildren++;
  try {
    return await parent.children.run(async () => await nested(pool, parent, fn));
  } finally {
    parent.state.openChildren--;
  }
}

async function nested<T>(pool: Pool, parent: PgUnit, fn: (client: TenantClient) => Promise<T>): Promise<T> {
  const depth = parent.depth + 1;
  const savepoint = `pf_unit_${depth}`;
  const unit: PgUnit = {
    connection: parent.connection,
    organisationId: parent.organisationId,
    depth,
    children: new Mutex(),
    state: { openChildren: 0 },
  };
  const scoped = new ScopedClient(parent.connection, parent.organisationId, gateFor(pool, unit));
  await parent.connection.query({ text: `SAVEPOINT ${savepoint}` });
  try {
    const result = await runInUnit(pool, unit, () => fn(scoped));
    scoped.close();
    await parent.connection.query({ text: `RELEASE SAVEPOINT ${savepoint}` });
    return result;
  } catch (error) {
    scoped.close();
    // Undo only this level; the outer unit decides whether the whole transaction survives.
    await parent.connection.query({ text: `ROLLBACK TO SAVEPOINT ${savepoint}` }).catch(() => {});
    throw error;
  }
}

async function runTopLevel<T>(
  pool: Pool,
  settings: UnitSettings,
  fn: (client: TenantClient) => Promise<T>,
  options: PgUnitOptions,
): Promise<T> {
  const client = await checkout(pool, options);
  const timeouts = unitTimeouts(pool);
  const connection = new UnitConnection(client, unitPrelude(timeouts ? { ...settings, timeouts } : settings));
  const unit: PgUnit = {
    connection,
    organisationId: settings.organisationId,
    depth: 0,
    children: new Mutex(),
    state: { openChildren: 0 },
  };
  const scoped = new ScopedClient(connection, settings.organisationId, gateFor(pool, unit));
  try {
    const result = await runInUnit(pool, unit, () => fn(scoped));
    scoped.close();
    await connection.settled();
    // A unit that never queried never opened a transaction: nothing to commit.
    if (connection.begun) {
      const commit = await client.query('COMMIT');
      // COMMIT of a transaction an earlier error aborted answers ROLLBACK instead of failing.
      if (commit.command === 'ROLLBACK') {
        throw new TransactionAbortedError(
          'The transaction had failed earlier (an error was caught inside it), so nothing was committed',
        );
      }
    }
    client.release();
    return result;
  } catch (error) {
    scoped.close();
    if (connection.begun) await client.query('ROLLBACK').catch(() => {});
    // Destroy rather than reuse a connection whose state we no longer vouch for.
    client.release(asError(error));
    throw error;
  }
}

async function runUnit<T>(
  pool: Pool,
  settings: UnitSettings,
  fn: (client: TenantClient) => Promise<T>,
  options: PgUnitOptions,
): Promise<T> {
  const parent = activeUnit<PgUnit>(pool);
  if (parent) {
    if (parent.organisationId !== settings.organisationId) {
      throw new TenantMismatchError(
        parent.organisationId || '(system)',
        settings.organisationId || '(system)',
      );
    }
    if (!options.independent) return await runNested(pool, parent, fn);
  }
  return await runTopLevel(pool, settings, fn, options);
}

/**
 * Runs `fn` in one transaction on one pooled connection, with `app.organisation_id` (and
 * `app.user_id`) set for that transaction only. The organisation is read from the async context
 * before a connection is requested, so without one nothing reaches the pool. Nested calls on the
 * same pool become savepoints; a nested call for another organisation throws.
 */
export async function withTenantClient<T>(
  pool: Pool,
  fn: (client: TenantClient) => Promise<T>,
  options: PgUnitOptions = {},
): Promise<T> {
  const tenant = currentTenant();
  return await runUnit(
    pool,
    { organisationId: tenant.organisationId, userId: tenant.userId ?? '' },
    fn,
    options,
  );
}

/**
 * `withTenantClient` for an organisation named explicitly rather than taken from the async
 * context: `runWithTenant(context, () => withTenantClient(pool, fn, options))` in one call, for code
 * that learns its organisation itself (a token's owner, a task, a new organisation). Inside a
 * context of another organisation it throws TenantMismatchError like runWithTenant.
 */
export async function withTenant<T>(
  pool: Pool,
  context: TenantContext,
  fn: (client: TenantClient) => Promise<T>,
  options: PgUnitOptions = {},
): Promise<T> {
  return await runWithTenant(context, () => withTenantClient(pool, fn, options));
}

/**
 * The system path's transaction: no organisation at all (tenant tables raise PF001), for calling
 * the worker role's SECURITY DEFINER functions such as `app.claim_tasks`. Only inside runAsSystem.
 */
export async function withSystemClient<T>(
  pool: Pool,
  fn: (client: TenantClient) => Promise<T>,
  options: PgUnitOptions = {},
): Promise<T> {
  if (!currentScope().system)
    throw new SystemScopeError('withSystemClient must run inside runAsSystem(reason, …)');
  return await runUnit(pool, { organisationId: '', userId: '' }, fn, options);
}

/**
 * One statement as its own unit of work, in ONE round trip: the tenant settings and the statement
 * travel in a single extended-protocol batch that PostgreSQL runs as one implicit transaction, so
 * the organisation is set for exactly this statement. Inside an open unit on the same pool it joins
 * that unit's transaction instead. Throws NoTenantError before touching the pool without a tenant.
 */
export async function tenantQuery<R extends QueryResultRow = QueryResultRow>(
  pool: Pool,
  text: string,
  values?: readonly unknown[],
  options: PgUnitOptions = {},
): Promise<QueryResult<R>> {
  const tenant = currentTenant();
  if (isTransactionControl(text))
    throw new UnsafeQueryError('Transaction control is not allowed in tenantQuery; use withTenantClient');
  const config = { text, values: values as unknown[] | undefined };
  const unit = activeUnit<PgUnit>(pool);
  // runWithTenant refuses another organisation inside a unit, so an open unit is this tenant's.
  if (unit) return await gateFor(pool, unit)(() => unit.connection.query<R>(config));
  const client = await checkout(pool, options);
  try {
    const settings = {
      organisationId: tenant.organisationId,
      userId: tenant.userId ?? '',
      timeouts: unitTimeouts(pool),
    };
    const result = await queryWithPrelude<R>(client, [settingsSql(settings)], config);
    client.release();
    return result;
  } catch (error) {
    // PostgreSQL already rolled the implicit transaction back; the connection itself is not vouched for.
    client.release(asError(error));
    throw error;
  }
}
