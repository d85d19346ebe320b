import fs from 'node:fs';
import path from 'node:path';

/** The nearest directory above `start` holding pnpm-workspace.yaml, else `start`. */
export function findRepositoryRoot(start: string = process.cwd()): string {
  let current = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(current, 'pnpm-workspace.yaml'))) return current;
    const parent = path.dirname(current);
    if (parent === current) return path.resolve(start);
    current = parent;
  }
}
