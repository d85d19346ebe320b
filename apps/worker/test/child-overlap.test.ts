import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testEnvironment } from '@prospectflow/testing';
import {
  CHILD_GUARD_ARGS,
  OVERLAP_WARNING,
  takeOverlaps,
  watchChildStderr,
} from '@prospectflow/testing/setup';
import { expect, it } from 'vitest';

// What chaos.test.ts and the API's import tests rely on: a process they start with
// CHILD_GUARD_ARGS reports its overlapping pg queries to the test that started it.
it('an overlapping pg query in a child process started with the guard fails the test that started it', async () => {
  const script = `
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: process.env.URL });
    await client.connect();
    const queries = ['SELECT pg_sleep(0.05)', 'SELECT 1', 'SELECT 2'];
    await Promise.all(queries.map((sql) => client.query(sql)));
    await client.end();`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...CHILD_GUARD_ARGS, '--input-type=module', '-e', script],
    {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { PATH: process.env.PATH, URL: testEnvironment().adminUrl },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  watchChildStderr(child.stderr);
  const code = await new Promise((resolve) => child.once('close', resolve));
  expect(code).toBe(0);
  const found = takeOverlaps();
  // The guard's line names the caller; node's own deprecation line counts too.
  expect(found.length).toBeGreaterThanOrEqual(1);
  expect(found.every((overlap) => overlap.message.includes(OVERLAP_WARNING))).toBe(true);
  expect(found.some((overlap) => overlap.message.includes('[eval'))).toBe(true);
});
