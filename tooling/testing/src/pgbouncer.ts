import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { findBinary, serviceUser, startDaemon } from './system-service.js';

export interface PgBouncerUser {
  user: string;
  password: string;
}

export interface PgBouncerOptions {
  /** Where pgBouncer forwards to: host, port (and the default database for `url()`). */
  targetUrl: string;
  /** `default_pool_size`: server connections per (database, user). */
  poolSize: number;
  poolMode?: 'transaction' | 'session' | 'statement';
  /** Users clients log in as; pgBouncer logs in to PostgreSQL with the same credentials. */
  users: PgBouncerUser[];
  /** Extra `[pgbouncer]` settings. */
  settings?: Record<string, string | number>;
}

export interface RunningPgBouncer {
  port: number;
  /** URL through pgBouncer; `database` defaults to the target URL's database. */
  url(user: string, password: string, database?: string): string;
  /** Admin console URL (`SHOW POOLS`…), logged in as the first user. */
  adminUrl(): string;
  /** What pgBouncer printed (for failing tests). */
  log(): string;
  stop(): Promise<void>;
}

const MISSING =
  'pgbouncer is not installed. Fix: apt-get install -y pgbouncer (Debian/Ubuntu), or set PGBOUNCER_BIN to its path.';

/** pgBouncer refuses to run as root: run it as the `postgres` OS user then. */
function runAs(): { uid: number; gid: number } | undefined {
  const owner = serviceUser('pgBouncer');
  return owner.root ? { uid: owner.uid, gid: owner.gid } : undefined;
}

function quoteAuth(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/** Starts Debian's pgBouncer on a free port in front of `targetUrl`, with a generated ini and auth_file. */
export async function startPgBouncer(options: PgBouncerOptions): Promise<RunningPgBouncer> {
  if (options.users.length === 0) throw new Error('startPgBouncer needs at least one user');
  const binary = findBinary(
    'PGBOUNCER_BIN',
    ['pgbouncer', '/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'],
    MISSING,
  );
  const owner = runAs();
  const target = new URL(options.targetUrl);
  const defaultDatabase = decodeURIComponent(target.pathname.replace(/^\//, '')) || 'postgres';
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-pgbouncer-'));
  const authFile = path.join(dir, 'users.txt');
  const iniFile = path.join(dir, 'pgbouncer.ini');
  fs.writeFileSync(
    authFile,
    `${options.users.map((u) => `${quoteAuth(u.user)} ${quoteAuth(u.password)}`).join('\n')}\n`,
    {
      mode: 0o600,
    },
  );
  const settings: Record<string, string | number> = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    unix_socket_dir: '',
    auth_type: 'scram-sha-256',
    auth_file: authFile,
    admin_users: options.users[0]!.user,
    pool_mode: options.poolMode ?? 'transaction',
    default_pool_size: options.poolSize,
    min_pool_size: 0,
    reserve_pool_size: 0,
    max_client_conn: 1000,
    max_db_connections: 0,
    // Stock setting: the apps send no timeout or `options` at startup (timeouts travel inside each
    // transaction), so tests through this pgBouncer prove they need nothing dropped.
    ignore_startup_parameters: 'extra_float_digits',
    server_check_delay: 0,
    log_connections: 0,
    log_disconnections: 0,
    ...options.settings,
  };
  const ini =
    `[databases]\n* = host=${target.hostname} port=${target.port || 5432}\n\n[pgbouncer]\n` +
    Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n') +
    '\n';
  fs.writeFileSync(iniFile, ini, { mode: 0o600 });
  if (owner) {
    for (const file of [dir, authFile, iniFile]) fs.chownSync(file, owner.uid, owner.gid);
  }
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  const daemon = await startDaemon('pgbouncer', binary, [iniFile], {
    ports: [port],
    spawn: owner ? { uid: owner.uid, gid: owner.gid } : {},
  }).catch((error: unknown) => {
    cleanup();
    throw error;
  });
  const first = options.users[0]!;
  const build = (user: string, password: string, database: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    port,
    url: (user, password, database = defaultDatabase) => build(user, password, database),
    adminUrl: () => build(first.user, first.password, 'pgbouncer'),
    log: () => daemon.output(),
    async stop() {
      await daemon.stop();
      cleanup();
    },
  };
}
