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
export { type PgUnitOptions, tenantQuery, withSystemClient, withTenantClient } from './pg.js';
export type { TenantClient } from './pg-client.js';
export {
  createTenantDb,
  type PrismaClientLike,
  type TenantDb,
  type TenantDbOptions,
  type TenantTransactionOptions,
  type TransactionClient,
} from './prisma.js';
export { createPrismaPool } from './prisma-pool.js';
export { runAsSystem, type SystemOptions } from './system.js';
export { isUuid } from './uuid.js';
