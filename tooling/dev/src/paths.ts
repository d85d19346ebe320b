import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: tooling/dev/{src,dist}/ → three levels up. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.DEV_DATA_DIR ?? path.join(repoRoot, '.data'));
}
