import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('browser bundle', () => {
  it('bundles for the browser with no Node built-in and no server package', async () => {
    // platform browser: `import 'node:…'` anywhere in the graph fails the build.
    const result = await esbuild.build({
      entryPoints: [path.join(root, 'src/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const packages = new Set(
      Object.keys(result.metafile.inputs)
        .map((input) => /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1])
        .filter(Boolean),
    );
    expect([...packages].sort()).toEqual(['openapi-fetch']);
    const local = Object.keys(result.metafile.inputs).filter((input) => !input.includes('node_modules'));
    // Only this package's source and @prospectflow/contracts (zero dependencies) come in.
    expect(
      local.every((input) => /^(src\/|\.\.\/contracts\/dist\/)/.test(input)),
      local.join(', '),
    ).toBe(true);
  });
});
