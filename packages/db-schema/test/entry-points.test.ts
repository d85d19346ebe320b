import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expect, it } from 'vitest';

const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Every module an entry loads: its own files and the packages it imports. */
async function loads(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [path.join(packageDir, entry)],
    absWorkingDir: packageDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const files = Object.keys(result.metafile.inputs);
  const packages = Object.values(result.metafile.inputs).flatMap((input) =>
    input.imports.filter((i) => i.external).map((i) => i.path),
  );
  return [...new Set([...files, ...packages])];
}

it.each([
  ['src/index.ts', ['@prospectflow/config', 'pg', 'postgrator']],
  ['src/testing.ts', ['@prospectflow/config', 'pg', 'postgrator']],
  ['src/validation/index.ts', ['@prospectflow/config', 'pg', 'postgrator']],
])('%s loads no Prisma, only %j', async (entry, expected) => {
  const modules = await loads(entry);
  expect(modules.filter((m) => /prisma/i.test(m))).toEqual([]);
  expect(modules.filter((m) => !m.startsWith('src/') && !m.startsWith('node:')).sort()).toEqual(expected);
});

it('src/prisma.ts loads the generated client and the Prisma peers', async () => {
  const modules = await loads('src/prisma.ts');
  expect(modules).toContain('@prisma/adapter-pg');
  expect(modules.some((m) => m.startsWith('generated/prisma/'))).toBe(true);
});

it('src/prisma.ts exports the row type of every model in schema.prisma', async () => {
  const fs = await import('node:fs');
  const schema = fs.readFileSync(path.join(packageDir, 'prisma/schema.prisma'), 'utf8');
  const models = [...schema.matchAll(/^model (\w+) \{/gm)].map((m) => m[1]).sort();
  const source = fs.readFileSync(path.join(packageDir, 'src/prisma.ts'), 'utf8');
  const list = /export type \{([^}]*)\} from '\.\.\/generated\/prisma\/client\.js'/.exec(source)?.[1] ?? '';
  const exported = list
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
    .sort();
  expect(models.length).toBeGreaterThan(30);
  expect(exported).toEqual(models);
});
