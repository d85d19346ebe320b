import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = path.resolve(import.meta.dirname, '..', '..');

type Manifest = Record<string, Record<string, string> | undefined> & { name?: string };

/** Every workspace's package.json (the folders pnpm-workspace.yaml lists), the root's too. */
function manifests(): { dir: string; manifest: Manifest }[] {
  const { packages } = parse(fs.readFileSync(path.join(root, 'pnpm-workspace.yaml'), 'utf8')) as {
    packages: string[];
  };
  const dirs = ['.'];
  for (const pattern of packages) {
    if (pattern.endsWith('/*')) {
      const parent = pattern.slice(0, -2);
      for (const entry of fs.readdirSync(path.join(root, parent), { withFileTypes: true }))
        if (entry.isDirectory()) dirs.push(path.join(parent, entry.name));
    } else dirs.push(pattern);
  }
  return dirs
    .filter((dir) => fs.existsSync(path.join(root, dir, 'package.json')))
    .map((dir) => ({
      dir,
      manifest: JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8')),
    }));
}

const SECTIONS = ['dependencies', 'devDependencies', 'optionalDependencies'];

describe('workspace', () => {
  // Issue 2: one `catalog:` for shared versions. An external package declared by two workspaces
  // outside it drifts (autocannon was ^8.0.0 in ingest-api and 8.0.0 in infra).
  it('takes every external dependency two workspaces share from the catalog', () => {
    const users = new Map<string, string[]>();
    for (const { dir, manifest } of manifests())
      for (const section of SECTIONS)
        for (const [name, spec] of Object.entries(manifest[section] ?? {}))
          if (
            !spec.startsWith('workspace:') &&
            !spec.startsWith('link:') &&
            !name.startsWith('@prospectflow/')
          )
            users.set(name, [...(users.get(name) ?? []), `${dir} ${spec}`]);
    const outside = [...users]
      .filter(([, uses]) => uses.length > 1 && uses.some((use) => !use.endsWith(' catalog:')))
      .map(([name, uses]) => `${name}: ${uses.filter((use) => !use.endsWith(' catalog:')).join(', ')}`);
    expect(outside).toEqual([]);
  });

  // `.node-version` (fnm, asdf, volta, setup-node) and `.nvmrc` (nvm: `nvm use` reads only that one)
  // name the same Node, one the root's engines.node accepts.
  it('pins one Node version for every version manager, inside engines.node', () => {
    const pinned = fs.readFileSync(path.join(root, '.node-version'), 'utf8').trim();
    expect(fs.readFileSync(path.join(root, '.nvmrc'), 'utf8').trim()).toBe(pinned);
    const floor = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(manifests()[0]!.manifest.engines?.node ?? '');
    expect(floor, 'engines.node is >=x.y.z').not.toBeNull();
    const version = pinned.split('.').map(Number);
    const minimum = floor!.slice(1).map(Number);
    const compare = version.map((part, i) => part - minimum[i]!).find((difference) => difference !== 0) ?? 0;
    expect(compare).toBeGreaterThanOrEqual(0);
  });

  // pnpm install links a workspace package's bins into its dependants before anything is built: a
  // bin under dist/ made a fresh clone's install warn 'Failed to create bin … ENOENT' for each one
  // (twelve lines for prospectflow-db on the README's first command).
  it('gives every bin another workspace depends on a committed file, not a build output', () => {
    const all = manifests();
    const depended = new Set(
      all.flatMap(({ manifest }) => SECTIONS.flatMap((section) => Object.keys(manifest[section] ?? {}))),
    );
    const built = all.flatMap(({ dir, manifest }) => {
      const bin = manifest.bin as unknown as Record<string, string> | string | undefined;
      if (!bin || !manifest.name || !depended.has(manifest.name)) return [];
      return Object.values(typeof bin === 'string' ? { [manifest.name]: bin } : bin)
        .map((target) => path.join(dir, target))
        .filter(
          (target) => target.split(path.sep).includes('dist') || !fs.existsSync(path.join(root, target)),
        );
    });
    expect(built).toEqual([]);
  });
});
