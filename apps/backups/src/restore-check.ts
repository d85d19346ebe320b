import { createHash } from 'node:crypto';
import { createWriteStream, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import type { ObjectStorage } from '@prospectflow/object-storage';
import pg from 'pg';
import { type Archive, checksumKey, listArchives } from './archives.js';
import { type AgentConfig, requireSettings } from './config.js';
import type { Logger } from './logger.js';
import { runScript } from './scripts.js';
import { stagingDir } from './staging.js';
import { JobError, type JobStatus, recordRun } from './status.js';

/** The newest complete full archive under the prefix, or the one at `key`. */
export async function pickArchive(storage: ObjectStorage, prefix: string, key?: string): Promise<Archive> {
  const { archives } = await listArchives(storage, prefix);
  const found = key
    ? archives.find((a) => a.key === key || a.name === key)
    : archives.find((a) => a.complete && a.label === 'full');
  if (!found)
    throw new JobError(key ? `no archive ${key} in the bucket` : 'no complete full archive in the bucket');
  if (!found.complete) throw new JobError(`archive ${found.key} has no checksum (incomplete upload)`);
  return found;
}

/**
 * Downloads an archive and its checksum file into `dir` (files 0600), hashing while it streams:
 * a damaged object is refused here, before anything is restored. Returns the local path.
 */
export async function downloadArchive(
  storage: ObjectStorage,
  archive: Archive,
  dir: string,
  signal?: AbortSignal,
): Promise<string> {
  const checksumLine = (await buffer(await storage.get(checksumKey(archive.key), { signal }))).toString(
    'utf8',
  );
  const expected = checksumLine.split(/\s+/, 1)[0];
  const path = join(dir, archive.name);
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(
    await storage.get(archive.key, { signal }),
    hashing,
    createWriteStream(path, { mode: 0o600 }),
  );
  if (hash.digest('hex') !== expected) {
    throw new JobError('checksum mismatch: the archive in the bucket is damaged', { archive: archive.key });
  }
  writeFileSync(`${path}.sha256`, checksumLine, { mode: 0o600 });
  return path;
}

async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'prospectflow-backups' });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * The scheduled restore check: newest complete full archive from the bucket → restore.sh into
 * the scratch database (dropped first, so no safety backup is taken) → db:validate (run by
 * restore.sh) → scratch database dropped. Success means the archive restores and validates.
 */
export async function runRestoreCheck(
  config: AgentConfig,
  storage: ObjectStorage,
  log: Logger,
  options: { keepDatabase?: boolean; signal?: AbortSignal } = {},
): Promise<JobStatus> {
  requireSettings(config, { restore: true });
  const admin = config.restoreAdminUrl!;
  const scratch = config.restoreDatabase;
  return recordRun(storage, config.prefix, 'restore-check', async () => {
    const archive = await pickArchive(storage, config.prefix);
    const details = { archive: archive.key, bytes: archive.size };
    if (archive.database === scratch)
      throw new JobError('the scratch database is the backed-up one', details);
    const dir = stagingDir(config.workDir, 'restore-check');
    try {
      log.info({ event: 'download_start', key: archive.key, bytes: archive.size }, 'downloading archive');
      const local = await downloadArchive(storage, archive, dir, options.signal);
      await dropDatabase(admin, scratch);
      const result = await runScript(
        config.scriptsDir,
        'restore.sh',
        [local, '--target-db', scratch, '--yes'],
        { DATABASE_ADMIN_URL: admin, BACKUP_DIR: dir },
        log,
        options.signal,
      );
      const tables = Number(result.events.find((e) => e.event === 'archive_ok')?.table_data_entries);
      const withTables = { ...details, ...(Number.isFinite(tables) ? { tables } : {}) };
      if (result.code !== 0) {
        throw new JobError(
          `restore.sh failed (exit ${result.code}): ${result.failure ?? 'see its log'}`,
          withTables,
        );
      }
      if (!result.events.some((e) => e.event === 'validate_passed')) {
        throw new JobError('restore.sh finished without running db:validate', withTables);
      }
      return withTables;
    } finally {
      rmSync(dir, { recursive: true, force: true });
      if (!options.keepDatabase) {
        await dropDatabase(admin, scratch).catch((error) =>
          log.warn({ event: 'scratch_drop_failed', err: error }, 'scratch database not dropped'),
        );
      }
    }
  });
}
