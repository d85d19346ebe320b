/**
 * Shared set-up of the worker benches: a fresh migrated database on TEST_DATABASE_URL or an
 * embedded PostgreSQL 18.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as dbSchema from '@prospectflow/db-schema';
import * as testing from '@prospectflow/testing';
import pgModule from 'pg';

export const pg = pgModule;

export interface BenchDatabase {
  adminUrl: string;
  workerUrl: string;
  serverVersion: string;
  organisations: string[];
  stop(): Promise<void>;
}

export async function prepareWorkerBenchDatabase(label: string, organisations = 10): Promise<BenchDatabase> {
  const server = await testing.startTestPostgres();
  const database = `pf_bench_${label}_${randomBytes(3).toString('hex')}`;
  const adminUrl = dbSchema.withDatabase(server.adminUrl, database);
  await dbSchema.setupDatabase(server.adminUrl, { database });
  await dbSchema.migrate(dbSchema.roleUrl(adminUrl, dbSchema.ROLES.migrator));
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const { rows } = await admin.query<{ id: string }>(
    `INSERT INTO iam.organisations (name, slug) SELECT 'Bench ' || n, 'bench-' || n FROM generate_series(1, $1::int) n RETURNING id`,
    [organisations],
  );
  await admin.end();
  return {
    adminUrl,
    workerUrl: dbSchema.roleUrl(adminUrl, dbSchema.ROLES.worker),
    serverVersion: server.serverVersion,
    organisations: rows.map((r) => r.id),
    async stop() {
      const cleanup = new pg.Client({ connectionString: server.adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await cleanup.end();
      await server.stop();
    },
  };
}

/** Median of a non-empty list (the benches report medians of interleaved rounds). */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * CPU time (user + system, ms) the given server processes have used so far, read from /proc; undefined
 * when one cannot be read (the server is not on this machine, or the backend has exited).
 */
export function backendCpuMs(pids: readonly number[]): number | undefined {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks of 10 ms
    } catch {
      return undefined;
    }
  }
  return ticks * 10;
}
