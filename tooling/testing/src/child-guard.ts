/**
 * Preload for the processes tests start (a worker, an API replica): `node --import tsx --import
 * @prospectflow/testing/child-guard …` (CHILD_GUARD_ARGS). An overlapping pg query there is
 * printed on stderr with its stack; watchChildStderr (setup.ts) turns the line into a failure of
 * the test that started the process.
 */
import { installOverlapGuard, OVERLAP_WARNING } from './overlap-guard.js';

installOverlapGuard((overlap) => {
  const stack = (overlap.stack ?? overlap.message).replace(OVERLAP_WARNING, '').trim();
  process.stderr.write(`${OVERLAP_WARNING} [pid ${process.pid}] ${stack.replaceAll('\n', ' | ')}\n`);
});
