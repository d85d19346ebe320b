import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalRegistry } from './registry.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/**
 * A consumer project outside the workspace (under `work`, a temp dir): the fixture's files, a
 * package.json with `dependencies`, an .npmrc pointing at the local registry, then `npm install`
 * as any other team would.
 */
export function scratchProject(
  work: string,
  fixture: string,
  dependencies: Record<string, string>,
  registry: LocalRegistry,
): string {
  const dir = path.join(work, fixture);
  fs.cpSync(path.join(fixtures, fixture), dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: `consumer-${fixture}`, private: true, dependencies }, null, 2)}\n`,
  );
  fs.writeFileSync(path.join(dir, '.npmrc'), registry.npmrc);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NPM_CONFIG_USERCONFIG: path.join(dir, '.npmrc') },
  });
  return dir;
}

/** Every package name in the project's installed tree (npm ls --all). */
export function installedNames(dir: string): Set<string> {
  const tree = JSON.parse(execFileSync('npm', ['ls', '--all', '--json'], { cwd: dir, encoding: 'utf8' }));
  const names = new Set<string>();
  const walk = (node: { dependencies?: Record<string, unknown> }) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      names.add(name);
      walk(child as typeof node);
    }
  };
  walk(tree);
  return names;
}
