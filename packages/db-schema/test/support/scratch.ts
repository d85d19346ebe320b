import { randomBytes } from 'node:crypto';
import { testEnvironment } from '@prospectflow/testing';
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
