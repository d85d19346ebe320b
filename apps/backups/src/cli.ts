#!/usr/bin/env node
import { mkdirSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { envUsage } from '@prospectflow/config';
import { createObjectStorage, type ObjectStorage } from '@prospectflow/object-storage';
import { listArchives } from './archives.js';
import { runBackup } from './backup-job.js';
import { type AgentConfig, BackupEnv, ConfigError, loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { downloadArchive, pickArchive, runRestoreCheck } from './restore-check.js';
import { pruneBucket } from './retention.js';
import { serve } from './serve.js';
import { JOBS, readStatus } from './status.js';

type Options = { 'dry-run'?: boolean; 'keep-database'?: boolean; dir?: string };
type Context = { config: AgentConfig; storage: ObjectStorage; log: Logger; signal: AbortSignal };

const COMMANDS: Record<
  string,
  { usage: string; summary: string; run(c: Context, o: Options, args: string[]): Promise<unknown> }
> = {
  backup: {
    usage: 'backup',
    summary: 'backup.sh (full) → upload archive + checksum → bucket retention → status/backup.json',
    run: (c) => runBackup(c.config, c.storage, c.log, c.signal),
  },
  'restore-check': {
    usage: 'restore-check [--keep-database]',
    summary:
      'newest archive → restore.sh into RESTORE_CHECK_DATABASE → db:validate → status/restore-check.json',
    run: (c, o) =>
      runRestoreCheck(c.config, c.storage, c.log, { keepDatabase: o['keep-database'], signal: c.signal }),
  },
  prune: {
    usage: 'prune [--dry-run]',
    summary: 'apply bucket retention now (the backup command does it after each upload)',
    run: (c, o) => pruneBucket(c.storage, c.config, { dryRun: o['dry-run'], log: c.log }),
  },
  list: {
    usage: 'list',
    summary: 'archives in the bucket, newest first',
    run: async (c) => (await listArchives(c.storage, c.config.prefix)).archives,
  },
  status: {
    usage: 'status',
    summary: 'the last result of each job',
    run: async (c) =>
      Object.fromEntries(
        await Promise.all(JOBS.map(async (job) => [job, await readStatus(c.storage, c.config.prefix, job)])),
      ),
  },
  fetch: {
    usage: 'fetch [ARCHIVE] --dir DIR',
    summary: 'download an archive (default: the newest full one) and its checksum, verified, for restore.sh',
    run: async (c, o, args) => {
      if (!o.dir) throw new ConfigError(['fetch needs --dir DIR']);
      const dir = resolve(process.env.INIT_CWD ?? process.cwd(), o.dir);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return {
        path: await downloadArchive(c.storage, await pickArchive(c.storage, c.config.prefix, args[0]), dir),
      };
    },
  },
  serve: {
    usage: 'serve',
    summary: '/metrics + /health; runs the jobs on BACKUP_SCHEDULE / RESTORE_CHECK_SCHEDULE (UTC) when set',
    run: async (c) => {
      const serving = await serve(c.config, c.storage, c.log);
      await new Promise((done) => c.signal.addEventListener('abort', done, { once: true }));
      await serving.close();
      return { stopped: true };
    },
  },
};

function usage(command?: string): string {
  const listed = command ? [command] : Object.keys(COMMANDS);
  const lines = listed.map((name) => `  ${COMMANDS[name]!.usage.padEnd(34)} ${COMMANDS[name]!.summary}`);
  return [
    `Usage: prospectflow-backups ${command ? COMMANDS[command]!.usage : '<command> [options]'}`,
    ...lines,
    '',
    'Environment:',
    envUsage(BackupEnv),
    '  BACKUP_STORAGE_*  the bucket: @prospectflow/object-storage variables with this prefix (DRIVER s3|local,',
    '                    S3_BUCKET, S3_REGION, S3_ENDPOINT, S3_SSE, S3_KMS_KEY_ID, S3_FORCE_PATH_STYLE, LOCAL_DIR);',
    '                    credentials from the AWS SDK chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, IRSA…)',
    '  PG_BIN_DIR, BACKUP_ENCRYPT, BACKUP_AGE_*, PROSPECTFLOW_*_PASSWORD, RESTORE_VALIDATE_CMD: passed to the scripts',
    '',
    'Results are JSON on stdout, logs JSON on stderr. Exit codes: 0 done, 1 the job failed, 2 usage or settings.',
    '',
  ].join('\n');
}

/** Runs one command; returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    // `pnpm backups -- --help`: pnpm passes its `--` through; it separates nothing here.
    args: argv[0] === '--' ? argv.slice(1) : argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      'dry-run': { type: 'boolean' },
      'keep-database': { type: 'boolean' },
      dir: { type: 'string' },
    },
  });
  const [name, ...args] = positionals;
  const command = name ? COMMANDS[name] : undefined;
  if (values.help || name === 'help') {
    process.stdout.write(usage(command ? name : undefined));
    return 0;
  }
  if (!command) {
    process.stderr.write(`${name ? `Unknown command "${name}"\n\n` : ''}${usage()}`);
    return 2;
  }
  let config: AgentConfig;
  try {
    config = loadConfig(env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const log = createLogger(config.logLevel);
  const storage = createObjectStorage(config.storage);
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGTERM', stop).once('SIGINT', stop);
  try {
    const result = await command.run({ config, storage, log, signal: abort.signal }, values, args);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    log.error({ event: 'failed', command: name, err: error }, (error as Error).message);
    return 1;
  } finally {
    process.off('SIGTERM', stop).off('SIGINT', stop);
    await storage.close();
  }
}

const invokedDirectly =
  process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exitCode = 2;
    },
  );
}
