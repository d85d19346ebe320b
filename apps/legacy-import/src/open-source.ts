import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { ConsolidateOptions } from './consolidate.js';
import { discover } from './discover.js';
import { proposeMapping, validateMapping } from './presets.js';
import type { DatabaseReport } from './report.js';
import type { SourceDatabase } from './sources.js';
import { detectStore } from './stores.js';

/** One source database opened for a consolidation: its connections, mapping and fingerprint. */

function sha256(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

export interface Opened {
  source: SourceDatabase;
  db: Database.Database;
  raw: Database.Database;
  report: DatabaseReport;
}

/** An error of one database, naming it: a run over a directory reads many. */
export function inDatabase(where: string, error: unknown): Error {
  return new Error(`${where}: ${(error as Error).message}`, { cause: error });
}

export function openSource(source: SourceDatabase, options: ConsolidateOptions): Opened {
  let db: Database.Database | undefined;
  let raw: Database.Database | undefined;
  try {
    db = new Database(source.path, { readonly: true, fileMustExist: true });
    raw = new Database(source.path, { readonly: true, fileMustExist: true });
    const discovered = discover(db);
    const mapping = options.mapping
      ? validateMapping(options.mapping, discovered)
      : proposeMapping(discovered);
    const store = detectStore(discovered.map((t) => t.name));
    return {
      source,
      db,
      raw,
      report: {
        name: source.name,
        path: source.path,
        sha256: sha256(source.path),
        store: store?.name ?? null,
        source: options.source ?? mapping.source ?? `sqlite:${source.name}`,
        discovered,
        mapping,
        tables: [],
      },
    };
  } catch (error) {
    db?.close();
    raw?.close();
    throw inDatabase(source.path, error);
  }
}
