import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testEnvironment } from '@prospectflow/testing';
import { MIGRATIONS_DIR } from '../../src/migrations.js';
import { setupDatabase } from '../../src/setup.js';
import { withDatabase } from '../../src/urls.js';

/** An empty database set up like production (roles, owner, extensions), dropped at the run's end. */
export async function scratchDatabase(label: string): Promise<{ name: string; adminUrl: string }> {
  const environment = testEnvironment();
  const name = `${environment.runPrefix}_${label}_${randomBytes(3).toString('hex')}`;
  await setupDatabase(environment.adminUrl, { database: name });
  return { name, adminUrl: withDatabase(environment.adminUrl, name) };
}

/** One statement's rows on a short-lived connection. */
export { queryRows as query } from '../../src/client.js';

/** The landed migrations before `version`, in a directory of their own (a database as it was then). */
export function migrationsBefore(version: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-migrations-'));
  for (const file of fs.readdirSync(MIGRATIONS_DIR))
    if (Number(file.split('.')[0]) < version)
      fs.copyFileSync(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
  return dir;
}
