import { type TenantClient, withTenantClient } from '@prospectflow/tenant-context';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import pg from 'pg';
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
  stats(): PoolStats;
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
  }
}

async function database(fastify: FastifyInstance, opts: AppOptions) {
  const { config } = opts;
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: config.databasePoolMax,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    statement_timeout: config.databaseStatementTimeoutMs || undefined,
    application_name: 'ingest-api',
  });
  // An idle client losing its server connection must not crash the process.
  pool.on('error', (error) => fastify.log.warn({ err: error }, 'idle database connection failed'));

  fastify.decorate('db', {
    pool,
    tenant: (fn) => withTenantClient(pool, fn),
    stats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max: config.databasePoolMax,
    }),
  } satisfies Database);

  fastify.addHook('onClose', async () => {
    await pool.end();
  });
}

export default fp(database, { name: 'db', fastify: '5.x' });
