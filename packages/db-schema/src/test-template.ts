import { migrate } from './migrations.js';
import { ROLES, roleUrl } from './roles.js';
import { setupDatabase } from './setup.js';
import { databaseOf } from './urls.js';

/**
 * For every package's vitest global setup: roles, extensions and grants on the cluster, then all
 * migrations applied to the template database as the migrator.
 * `createGlobalSetup({ prepareTemplate: prepareTestTemplate })`.
 */
export async function prepareTestTemplate(adminUrl: string, templateUrl: string): Promise<void> {
  await setupDatabase(adminUrl, { database: databaseOf(templateUrl) });
  await migrate(roleUrl(templateUrl, ROLES.migrator));
}
