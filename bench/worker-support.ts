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

/**
 * A verified mailbox `sales@bench.test` of `organisation` that may send at any hour (no real servers
 * behind it: for benches that drive the database alone). Returns its id.
 */
export async function insertBenchMailbox(
  admin: { query: (sql: string, values: unknown[]) => Promise<unknown> },
  organisation: string,
): Promise<string> {
  const id = crypto.randomUUID();
  await admin.query(
    `INSERT INTO outreach.mailboxes (organisation_id, id, from_name, from_address, provider, daily_limit, window_start,
       window_end, window_days, time_zone, smtp_host, smtp_port, smtp_security, smtp_user, imap_host, imap_port,
       imap_security, imap_user, secret_ciphertext, secret_wrapped_key, secret_key_id, verification_status, verified_at)
     VALUES ($1, $2, 'Bench', 'sales@bench.test', 'smtp_imap', 10000, '00:00', '23:59:59', '{1,2,3,4,5,6,7}', 'UTC',
       '127.0.0.1', 25, 'none', 'u', '127.0.0.1', 1, 'none', 'u', '\\x00', '\\x00', 'k', 'verified', now())`,
    [organisation, id],
  );
  return id;
}
