import { type TenantClient, TimedPool, withTenantClient } from '@prospectflow/tenant-context';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { AppOptions } from '../../app.js';

export interface PoolStats {
  /** Connections open (idle + in use). */
  total: number;
  idle: number;
  /** Requests queued for a connection. */
  waiting: number;
  max: number;
}

export interface Database {
  /** Pool of role prospectflow_app. Tenant tables need `tenant()`; RLS refuses them otherwise. */
  pool: pg.Pool;
  /**
   * One transaction for the request's organisation (tenant-context's withTenantClient): nested
   * calls become savepoints. Only inside a scoped route (or runWithTenant).
   */
  tenant<T>(fn: (client: TenantClient) => Promise<T>): Promise<T>;
  /**
   * The same, on the read replica when DATABASE_READ_URL is set (else the primary): only for reads
   * that tolerate replication lag (campaign statistics). Never write through it.
   */
  readTenant<T>(fn: (client: TenantClient) => Promise<T>): Promise<T>;
  /** Readiness: one round trip to PostgreSQL. */
  ping(): Promise<void>;
  stats(): PoolStats;
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
  }
}

async function database(fastify: FastifyInstance, opts: AppOptions) {
  const { config } = opts;
  const open = (connectionString: string, applicationName: string) => {
    const opened = new TimedPool(
      {
        connectionString,
        max: config.databasePoolMax,
        connectionTimeoutMillis: 5000,
        idleTimeoutMillis: 30_000,
        application_name: applicationName,
      },
      // No timeout as a startup parameter: a stock pgBouncer refuses it (and one told to ignore it
      // drops it silently). Each unit of work sets its timeouts inside its own transaction, and each
      // plain pool.query (session load, invitation lookups) ahead of itself in the same round trip.
      {
        statementTimeoutMs: config.databaseStatementTimeoutMs,
        idleInTransactionTimeoutMs: config.databaseIdleInTransactionTimeoutMs,
      },
    );
    // An idle client losing its server connection must not crash the process.
    opened.on('error', (error) => fastify.log.warn({ err: error }, 'idle database connection failed'));
    return opened;
  };
  const pool = open(config.databaseUrl, 'ingest-api');
  const readPool = config.databaseReadUrl ? open(config.databaseReadUrl, 'ingest-api-read') : pool;

  fastify.decorate('db', {
    pool,
    tenant: (fn) => withTenantClient(pool, fn),
    readTenant: (fn) => withTenantClient(readPool, fn),
    ping: async () => {
      await pool.query('SELECT 1');
    },
    stats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max: config.databasePoolMax,
    }),
  } satisfies Database);

  fastify.addHook('onClose', async () => {
    await pool.end();
    if (readPool !== pool) await readPool.end();
  });
}

export default fp(database, { name: 'db', fastify: '5.x' });
