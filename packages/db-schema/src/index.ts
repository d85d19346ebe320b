export { type CatalogTable, isTenantTable, readCatalog } from './catalog.js';
export { renderErd } from './erd.js';
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
export * from './prisma.js';
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
export { DEMO_IDS, DEMO_ORGANISATION, DEMO_OWNER_EMAIL, type SeedResult, seedDemo } from './seed.js';
export { type SetupOptions, type SetupResult, setupDatabase } from './setup.js';
export { prepareTestTemplate } from './test-template.js';
export { databaseOf, redactUrl, withDatabase } from './urls.js';
export {
  CHECKS,
  type CheckResult,
  citusProblems,
  runValidation,
  type ValidationOptions,
  validationContext,
} from './validation/index.js';
