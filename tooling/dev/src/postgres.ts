import fs from 'node:fs';
import path from 'node:path';
import { type RunningPostgres, startEmbeddedPostgres } from '@prospectflow/testing/postgres';
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

/** An embedded PostgreSQL 18 whose data lives in <dataDir>/postgres and survives restarts. */
export async function startDevPostgres(options: DevPostgresOptions): Promise<RunningPostgres> {
  assertWritable(options.dataDir);
  // Running as root, PostgreSQL runs as the `postgres` user, which must be able to reach its data.
  if (process.getuid?.() === 0) fs.chmodSync(options.dataDir, fs.statSync(options.dataDir).mode | 0o111);
  const pgData = path.join(options.dataDir, 'postgres');
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
    const detail = recent.filter((l) => /FATAL|PANIC|invalid|corrupt|could not/i.test(l)).join(' | ');
    throw new DevStartError(
      `the embedded PostgreSQL did not start (${detail || (error as Error).message})`,
      existing
        ? 'the data directory may be damaged: run `pnpm dev --reset` to recreate it (local dev data is lost)'
        : 'check the messages above; set DATABASE_URL to use your own PostgreSQL instead',
    );
  }
}
