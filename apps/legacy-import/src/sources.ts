import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';

export interface SourceDatabase {
  /** Absolute path of the file. */
  path: string;
  /** Its name in the archive and the report: the path relative to the directory it was found in. */
  name: string;
}

const MAGIC = Buffer.from('SQLite format 3\u0000', 'latin1');

/** True when the file starts with SQLite's header (extensions lie: .db files may be anything). */
export function isSqliteFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(MAGIC.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(MAGIC);
  } finally {
    closeSync(fd);
  }
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    // -wal/-shm/-journal files belong to a database, they are not one.
    else if (entry.isFile() && !/-(wal|shm|journal)$/.test(entry.name)) out.push(path);
  }
}

/**
 * Every SQLite database among `paths`: files are taken as given (and must be SQLite), directories
 * are searched recursively for files with the SQLite header. Names are unique in the result.
 */
export function findDatabases(paths: readonly string[]): SourceDatabase[] {
  const found: SourceDatabase[] = [];
  for (const given of paths) {
    const path = resolve(given);
    if (statSync(path).isDirectory()) {
      const files: string[] = [];
      walk(path, files);
      for (const file of files) {
        if (isSqliteFile(file)) found.push({ path: file, name: relative(path, file) });
      }
    } else {
      if (!isSqliteFile(path)) throw new Error(`${given} is not a SQLite database`);
      found.push({ path, name: basename(path) });
    }
  }
  const seen = new Map<string, number>();
  for (const db of found.splice(0).filter((d, i, all) => all.findIndex((o) => o.path === d.path) === i)) {
    found.push(db);
    const n = (seen.get(db.name) ?? 0) + 1;
    seen.set(db.name, n);
    if (n > 1) db.name = `${db.name}#${n}`;
  }
  return found;
}
