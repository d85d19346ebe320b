import { join } from 'node:path';
import { roleUrl } from '@prospectflow/db-schema';
import { runGuardedScript } from '@prospectflow/testing/setup';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setupImportDb } from './helpers.js';

let ctx: Awaited<ReturnType<typeof setupImportDb>>;
beforeAll(async () => {
  ctx = await setupImportDb('imports_memory');
});
afterAll(async () => {
  await ctx?.close();
});

it('imports a file far larger than the memory it uses (RSS sampled while importing)', async () => {
  const tenant = await ctx.newOrganisation();
  const rows = 4_000;
  // ~100 MB generated while it is read (25 kB of notes per row), imported by a process whose V8
  // heap is capped at 64 MB: holding the file would crash it. The small young generation makes
  // sampled RSS reflect what the import keeps rather than garbage awaiting collection.
  const { stdout } = await runGuardedScript(
    join(import.meta.dirname, 'memory-child.ts'),
    [roleUrl(ctx.db.adminUrl, 'app'), tenant.organisationId, String(rows), '25000'],
    {
      nodeArgs: ['--max-semi-space-size=1', '--max-old-space-size=64'],
      cwd: join(import.meta.dirname, '../..'),
      maxBuffer: 1024 * 1024,
    },
  );
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
  expect(result.outcome).toMatchObject({ status: 'succeeded', counts: { total: rows, inserted: rows } });
  expect(result.fileBytes).toBeGreaterThan(100_000_000);
  expect(result.peak - result.baseline).toBeLessThan(result.fileBytes / 3);
  expect(await ctx.count(tenant, 'crm.positions')).toBe(rows);
}, 150_000);
