export {
  currentTenant,
  isInRequestScope,
  isInSystemScope,
  markRequestScope,
  runWithTenant,
  type TenantContext,
  tryCurrentTenant,
} from './context.js';
export {
  DB_NO_ORGANISATION_SQLSTATE,
  InvalidTenantError,
  isDbNoOrganisationError,
  NoTenantError,
  PoolTimeoutError,
  SystemScopeError,
  TenantContextError,
  TenantMismatchError,
  TransactionAbortedError,
  TransactionTimeoutError,
  UnsafeQueryError,
} from './errors.js';
export type { TenantLogger } from './logger.js';
export { lockOrganisation } from './organisation-lock.js';
export { type PgUnitOptions, tenantQuery, withSystemClient, withTenant, withTenantClient } from './pg.js';
export type { TenantClient } from './pg-client.js';
/** Building blocks of the one-round-trip tenant path (bench/ measures them one by one). */
export { queryWithPrelude } from './pipelined-query.js';
export { settingsSql } from './settings.js';
export { runAsSystem, type SystemOptions } from './system.js';
export { TimedPool } from './timed-pool.js';
export { setUnitTimeouts, type UnitTimeouts, unitTimeouts } from './timeouts.js';
export { isUuid } from './uuid.js';
