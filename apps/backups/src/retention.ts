import type { ObjectStorage } from '@prospectflow/object-storage';
import { checksumKey, listArchives } from './archives.js';
import type { BucketSettings } from './config.js';
import type { Logger } from './logger.js';

export interface PruneResult {
  /** Archives left in the bucket (complete or not). */
  kept: number;
  /** Keys deleted (archives, their checksums, orphan checksums); what would be with dryRun. */
  removed: string[];
}

/**
 * Bucket retention: archives older than `retentionDays` are deleted with their checksum, except
 * the newest `keepMin` complete ones (a schedule that stopped never empties the bucket).
 * Only keys under `<prefix>/archives/` that look like backup.sh's archives are ever touched.
 */
export async function pruneBucket(
  storage: ObjectStorage,
  settings: Pick<BucketSettings, 'prefix' | 'retentionDays' | 'keepMin'>,
  options: { now?: Date; dryRun?: boolean; log?: Logger } = {},
): Promise<PruneResult> {
  const now = options.now ?? new Date();
  const cutoff = now.getTime() - settings.retentionDays * 86_400_000;
  const { archives, orphanChecksums } = await listArchives(storage, settings.prefix);
  const protectedKeys = new Set(
    archives
      .filter((a) => a.complete)
      .slice(0, settings.keepMin)
      .map((a) => a.key),
  );
  const expired = archives.filter((a) => a.takenAt.getTime() < cutoff && !protectedKeys.has(a.key));
  const removed: string[] = [];
  for (const archive of expired) {
    // The archive first: a checksum without its archive is never mistaken for a complete one.
    for (const key of [archive.key, checksumKey(archive.key)]) {
      if (!options.dryRun) await storage.delete(key);
      removed.push(key);
    }
    options.log?.info(
      {
        event: 'retention_removed',
        archive: archive.key,
        takenAt: archive.takenAt,
        dryRun: !!options.dryRun,
      },
      'archive past retention',
    );
  }
  for (const key of orphanChecksums) {
    if (!options.dryRun) await storage.delete(key);
    removed.push(key);
  }
  return { kept: archives.length - expired.length, removed };
}
