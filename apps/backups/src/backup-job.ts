import { createReadStream, readFileSync, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { ObjectStorage } from '@prospectflow/object-storage';
import { archivesPrefix, checksumKey } from './archives.js';
import { type AgentConfig, requireSettings } from './config.js';
import type { Logger } from './logger.js';
import { pruneBucket } from './retention.js';
import { runScript } from './scripts.js';
import { stagingDir } from './staging.js';
import { JobError, type JobStatus, recordRun } from './status.js';

/**
 * Uploads an archive, then its checksum file (whose presence marks the archive complete). The
 * hash of the bytes sent must equal backup.sh's checksum, or both objects are removed.
 */
export async function uploadArchive(
  storage: ObjectStorage,
  prefix: string,
  archivePath: string,
  log: Logger,
  signal?: AbortSignal,
): Promise<{ key: string; bytes: number }> {
  const name = basename(archivePath);
  const checksumLine = readFileSync(`${archivePath}.sha256`, 'utf8');
  const expected = checksumLine.split(/\s+/, 1)[0]!;
  const key = `${archivesPrefix(prefix)}${name}`;
  const started = Date.now();
  log.info({ event: 'upload_start', key, bytes: statSync(archivePath).size }, 'uploading archive');
  const stored = await storage.put(key, createReadStream(archivePath), {
    contentType: name.endsWith('.gz') ? 'application/gzip' : 'application/octet-stream',
    metadata: { sha256: expected },
    signal,
  });
  if (stored.sha256 !== expected) {
    await storage.delete(key);
    throw new JobError('the uploaded bytes do not match the archive checksum; upload removed', {
      archive: key,
    });
  }
  await storage.put(checksumKey(key), checksumLine, { contentType: 'text/plain', signal });
  log.info(
    { event: 'upload_done', key, bytes: stored.size, sha256: stored.sha256, ms: Date.now() - started },
    'archive and checksum uploaded',
  );
  return { key, bytes: stored.size };
}

/**
 * One scheduled backup: backup.sh (full, checked archive + checksum) into a private staging
 * folder, upload to the bucket, bucket retention, status. Nothing is kept on local disk.
 */
export async function runBackup(
  config: AgentConfig,
  storage: ObjectStorage,
  log: Logger,
  signal?: AbortSignal,
): Promise<JobStatus> {
  requireSettings(config, { backup: true });
  return recordRun(storage, config.prefix, 'backup', async () => {
    const dir = stagingDir(config.workDir, 'backup');
    try {
      const result = await runScript(
        config.scriptsDir,
        'backup.sh',
        ['full', '--dir', dir],
        { BACKUP_DATABASE_URL: config.backupDatabaseUrl!, BACKUP_DIR: dir },
        log,
        signal,
      );
      const archive = result.stdout.at(-1);
      if (result.code !== 0 || !archive) {
        throw new JobError(
          `backup.sh failed (exit ${result.code}): ${result.failure ?? 'no archive written'}`,
        );
      }
      const tables = Number(result.events.find((e) => e.event === 'dump_done')?.table_data_entries);
      const uploaded = await uploadArchive(storage, config.prefix, archive, log, signal);
      const pruned = await pruneBucket(storage, config, { log });
      log.info(
        { event: 'retention_done', kept: pruned.kept, removed: pruned.removed.length },
        'bucket retention',
      );
      return { archive: uploaded.key, bytes: uploaded.bytes, ...(Number.isFinite(tables) ? { tables } : {}) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
