import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';

/** A private staging folder (mkdtemp: 0700) under the work dir; the caller removes it. */
export function stagingDir(workDir: string, label: string): string {
  mkdirSync(workDir, { recursive: true });
  return mkdtempSync(join(workDir, `pf-${label}-`));
}
