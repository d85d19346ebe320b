import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expect, it } from 'vitest';

const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

it('the main entry never loads the Prisma support (it lives behind ./prisma)', async () => {
  const bundle = async (entry: string) =>
    Object.keys(
      (
        await build({
          entryPoints: [path.join(packageDir, entry)],
          absWorkingDir: packageDir,
          bundle: true,
          platform: 'node',
          format: 'esm',
          packages: 'external',
          write: false,
          metafile: true,
          logLevel: 'silent',
        })
      ).metafile.inputs,
    );
  const main = await bundle('src/index.ts');
  expect(main).toContain('src/context.ts');
  expect(main.filter((file) => /prisma/.test(file))).toEqual([]);
  expect(await bundle('src/prisma-entry.ts')).toEqual(
    expect.arrayContaining(['src/prisma.ts', 'src/prisma-pool.ts', 'src/context.ts']),
  );
});
