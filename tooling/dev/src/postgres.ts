import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  PostgresStartError,
  postgresOwner,
  type RunningPostgres,
  rootCacheDir,
  startEmbeddedPostgres,
  userCan,
} from '@prospectflow/testing/postgres';
import { assertPortFree } from './ports.js';
import { DevStartError } from './problems.js';

export interface DevPostgresOptions {
  dataDir: string;
  port: number;
  reset: boolean;
  log: (line: string) => void;
}

function assertWritable(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    const probe = path.join(dir, `.write-probe-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (error) {
    throw new DevStartError(
      `the data directory ${dir} is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      `fix its permissions (chown -R "$(id -un)" ${dir}) or point DEV_DATA_DIR at a writable directory`,
    );
  }
}

/**
 * Where the cluster lives: <dataDir>/postgres, unless we are root and the `postgres` OS user
 * (PostgreSQL runs as that user) cannot reach it, e.g. a clone in root's 0700 home. Then it lives
 * in a root-owned directory under /var/tmp named after <dataDir>, so it still survives restarts.
 */
function clusterDir(dataDir: string, log: (line: string) => void): string {
  const owner = postgresOwner();
  if (!owner) return path.join(dataDir, 'postgres');
  // Running as root, PostgreSQL runs as the `postgres` user, which must be able to reach its data.
  fs.chmodSync(dataDir, fs.statSync(dataDir).mode | 0o111);
  if (userCan(owner, 'x', dataDir)) return path.join(dataDir, 'postgres');
  const key = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  const outside = path.join(rootCacheDir('prospectflow-dev'), key);
  fs.mkdirSync(outside, { recursive: true, mode: 0o755 });
  log(`PostgreSQL data: ${outside}/postgres (the postgres user cannot reach ${dataDir})`);
  return path.join(outside, 'postgres');
}

/** An embedded PostgreSQL 18 whose data lives in <dataDir>/postgres and survives restarts. */
export async function startDevPostgres(options: DevPostgresOptions): Promise<RunningPostgres> {
  assertWritable(options.dataDir);
  let pgData: string;
  try {
    pgData = clusterDir(options.dataDir, options.log);
  } catch (error) {
    if (error instanceof PostgresStartError) throw new DevStartError(error.reason, error.fix);
    throw error;
  }
  if (options.reset) fs.rmSync(pgData, { recursive: true, force: true });
  const existing = fs.existsSync(pgData) && fs.readdirSync(pgData).length > 0;
  if (existing && !fs.existsSync(path.join(pgData, 'PG_VERSION'))) {
    throw new DevStartError(
      `${pgData} is not a PostgreSQL data directory (no PG_VERSION)`,
      'run `pnpm dev --reset` to recreate it (local dev data is lost)',
    );
  }
  if (existing) {
    const version = fs.readFileSync(path.join(pgData, 'PG_VERSION'), 'utf8').trim();
    if (version !== '18') {
      throw new DevStartError(
        `${pgData} holds PostgreSQL ${version} data, not 18`,
        'run `pnpm dev --reset` to recreate it (local dev data is lost)',
      );
    }
  }
  await assertPortFree(options.port, 'PostgreSQL', 'DEV_POSTGRES_PORT');
  const recent: string[] = [];
  try {
    return await startEmbeddedPostgres({
      dataDir: pgData,
      port: options.port,
      onLog: (line) => {
        recent.push(line.trim());
        if (recent.length > 20) recent.shift();
        if (/FATAL|PANIC|ERROR/.test(line)) options.log(line.trim());
      },
    });
  } catch (error) {
    if (error instanceof PostgresStartError) throw new DevStartError(error.reason, error.fix);
    const detail = recent.filter((l) => /FATAL|PANIC|invalid|corrupt|could not/i.test(l)).join(' | ');
    throw new DevStartError(
      `the embedded PostgreSQL did not start (${detail || (error as Error).message})`,
      existing
        ? 'the data directory may be damaged: run `pnpm dev --reset` to recreate it (local dev data is lost)'
        : 'check the messages above; set DATABASE_URL to use your own PostgreSQL instead',
    );
  }
}
