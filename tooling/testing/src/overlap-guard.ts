import pg from 'pg';

/** node-postgres' deprecation for a query sent while the client has one queued (pg 9 refuses it). */
export const OVERLAP_WARNING = 'Calling client.query() when the client is already executing a query';

interface QueueInternals {
  _queryQueue?: unknown[];
  pipeline?: boolean;
}

/**
 * Calls `report` for every query sent on a pg client that already has one queued, with the
 * caller's stack, and for pg's own deprecation warning should it come from a path the wrapper
 * does not see. The check is pg's own (client.js: `_queryQueue.length > 0 && !this.pipeline`);
 * packages/tenant-context/test/pg-internals.test.ts fails if an upgrade renames what it reads.
 * Installed once per process (the vitest setup file, or the child preload `child-guard.ts`).
 */
export function installOverlapGuard(report: (overlap: Error) => void): void {
  // Stacks for every deprecation, as --trace-deprecation would print them.
  process.traceDeprecation = true;
  const original = pg.Client.prototype.query;
  if ((original as { overlapGuard?: boolean }).overlapGuard) return;
  const guarded = function (this: pg.Client & QueueInternals, ...args: unknown[]) {
    if ((this._queryQueue?.length ?? 0) > 0 && !this.pipeline) {
      report(new Error(`${OVERLAP_WARNING} (queued behind ${this._queryQueue!.length})`));
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  (guarded as { overlapGuard?: boolean }).overlapGuard = true;
  pg.Client.prototype.query = guarded as typeof original;
  process.on('warning', (warning) => {
    if (warning.name === 'DeprecationWarning' && warning.message.startsWith(OVERLAP_WARNING)) report(warning);
  });
}
