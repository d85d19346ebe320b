import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { TestMailEnvironment } from './mail/index.js';
import type { TestEnvironment } from './types.js';
import { withDatabase } from './urls.js';

export function testEnvironment(): TestEnvironment {
  const environment = inject('prospectflowTest');
  if (!environment)
    throw new Error('No test environment: add @prospectflow/testing global setup to vitest.config.ts');
  return environment;
}

/** The run's mail system (needs `createGlobalSetup({ mail: true })`). */
export function testMail(): TestMailEnvironment {
  const mail = testEnvironment().mail;
  if (!mail)
    throw new Error('No test mail system: pass { mail: true } to createGlobalSetup in vitest global setup');
  return mail;
}

export interface TestDatabase {
  name: string;
  /** Superuser URL to this database. */
  adminUrl: string;
  drop(): Promise<void>;
}

/**
 * A database of its own for one test file, cloned from the run's migrated template, so files
 * run in parallel without seeing each other's rows. Dropped by `drop()` or at the end of the run.
 */
export async function createTestDatabase(label = 'db'): Promise<TestDatabase> {
  const environment = testEnvironment();
  const safeLabel = label
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 20);
  const name = `${environment.runPrefix}_${safeLabel}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: environment.adminUrl });
  await admin.connect();
  try {
    // Cloning needs the template free of other sessions; serialise clones within the cluster.
    await admin.query('SELECT pg_advisory_lock(727274)');
    // Owned like the template (the migrator, as in production): migrations that create a schema
    // need CREATE on the database, which the owner has.
    const { rows } = await admin.query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [environment.templateDatabase],
    );
    const owner = rows[0]?.owner ? ` OWNER "${rows[0].owner.replace(/"/g, '""')}"` : '';
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${environment.templateDatabase}"${owner}`);
  } finally {
    await admin.query('SELECT pg_advisory_unlock(727274)').catch(() => {});
    await admin.end();
  }
  return {
    name,
    adminUrl: withDatabase(environment.adminUrl, name),
    async drop() {
      const client = new pg.Client({ connectionString: environment.adminUrl });
      await client.connect();
      try {
        // Give clients that are closing a moment to go: forcing them out mid-close makes their
        // driver raise "terminating connection" errors in the test process.
        for (let waited = 0; waited < 3_000; waited += 50) {
          const { rows } = await client.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
            [name],
          );
          if (rows[0]!.n === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
