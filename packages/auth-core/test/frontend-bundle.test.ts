import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

async function bundleForBrowser(entry: string) {
  return await build({
    entryPoints: [path.join(packageDir, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
}

describe('@prospectflow/auth-core/frontend', () => {
  it('bundles for the browser from pure modules only', async () => {
    const result = await bundleForBrowser('src/frontend.ts');
    const inputs = Object.keys(result.metafile.inputs).filter((input) => input !== 'src/frontend.ts');
    // Only the deprecated entry itself and @prospectflow/contracts, which it re-exports.
    expect(inputs.length).toBeGreaterThan(0);
    for (const input of inputs) expect(input).toMatch(/(^|\/)contracts\/dist\/index\.js$/);
    const code = result.outputFiles[0]!.text;
    for (const forbidden of ['node:', 'ioredis', 'aws-jwt-verify', 'fastify', 'require('])
      expect(code).not.toContain(forbidden);
    expect(code).toContain('not_a_member');
  });

  it('would catch a Node import (the backend entry does not bundle for the browser)', async () => {
    await expect(bundleForBrowser('src/index.ts')).rejects.toThrow();
  });
});
