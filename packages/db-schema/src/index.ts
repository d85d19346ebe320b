/**
 * `@prospectflow/db-schema`: what deploys and operations need — the migrations runner, roles and
 * their URLs, database setup and the demo seed. pg and postgrator only: the Prisma client is
 * `./prisma`, test support `./testing`, the validation suite and catalogue tools `./validation`.
 */

export { queryRows, withClient } from './client.js';
export {
  type AppliedMigration,
  MIGRATIONS_DIR,
  MigrationChecksumError,
  type MigrationOptions,
  type MigrationStatus,
  migrate,
  migrationStatus,
  SCHEMA_VERSION_TABLE,
  undoLastMigration,
} from './migrations.js';
export {
  LOGIN_ROLES,
  type LoginRoleName,
  passwordEnvName,
  ROLES,
  type RoleKey,
  type RoleName,
  rolePassword,
  roleUrl,
} from './roles.js';
export {
  DEMO_IDS,
  DEMO_ORGANISATION,
  DEMO_OWNER_EMAIL,
  DEMO_PEOPLE,
  type SeedResult,
  seedDemo,
} from './seed.js';
export { type SetupOptions, type SetupResult, setupDatabase } from './setup.js';
export { databaseOf, redactUrl, withDatabase } from './urls.js';
