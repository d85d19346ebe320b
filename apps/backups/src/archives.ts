import type { ObjectStorage } from '@prospectflow/object-storage';

/**
 * Bucket layout under the prefix (default `backups`):
 *   archives/<database>_full_<YYYYMMDDTHHMMSSZ>.dump.gz[.age|.gpg]   backup.sh's archive
 *   archives/<archive>.sha256                                        its checksum line (sha256sum)
 *   status/backup.json, status/restore-check.json                   last result of each job
 * An archive counts once its checksum exists: the checksum is uploaded last.
 */
const ARCHIVE =
  /^(?<database>.+?)_(?<label>full|schema|(?:full|data)-[A-Za-z0-9_]+)_(?<stamp>\d{8}T\d{6}Z)\.dump\.gz(?:\.age|\.gpg)?$/;

export interface Archive {
  /** Object key of the archive. */
  key: string;
  /** File name (as backup.sh wrote it). */
  name: string;
  database: string;
  label: string;
  /** When the dump started (from the name: independent of the bucket's clock). */
  takenAt: Date;
  size: number;
  /** Whether its `.sha256` object exists (the archive is complete). */
  complete: boolean;
}

export const archivesPrefix = (prefix: string) => `${prefix}/archives/`;
export const statusKey = (prefix: string, job: string) => `${prefix}/status/${job}.json`;
export const checksumKey = (archiveKey: string) => `${archiveKey}.sha256`;

/** Parses an archive file name; null for anything else (checksums, listings, foreign files). */
export function parseArchiveName(name: string): Omit<Archive, 'key' | 'size' | 'complete'> | null {
  const match = ARCHIVE.exec(name);
  if (!match?.groups) return null;
  const s = match.groups.stamp!;
  const takenAt = new Date(
    `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`,
  );
  if (Number.isNaN(takenAt.getTime())) return null;
  return { name, database: match.groups.database!, label: match.groups.label!, takenAt };
}

/** Archives under the prefix, newest first, and checksum objects whose archive is gone. */
export async function listArchives(
  storage: ObjectStorage,
  prefix: string,
): Promise<{ archives: Archive[]; orphanChecksums: string[] }> {
  const base = archivesPrefix(prefix);
  const sizes = new Map<string, number>();
  const checksums = new Set<string>();
  for await (const item of storage.list(base)) {
    if (item.key.endsWith('.sha256')) checksums.add(item.key);
    else sizes.set(item.key, item.size);
  }
  const archives: Archive[] = [];
  for (const [key, size] of sizes) {
    const parsed = parseArchiveName(key.slice(base.length));
    if (parsed) archives.push({ ...parsed, key, size, complete: checksums.has(checksumKey(key)) });
  }
  archives.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime() || b.name.localeCompare(a.name));
  const orphanChecksums = [...checksums].filter((key) => !sizes.has(key.slice(0, -'.sha256'.length)));
  return { archives, orphanChecksums };
}
