/**
 * `@prospectflow/tenant-context/prisma`: tenant units of work for a Prisma client. A separate entry
 * so a pg-only service never loads this code; it needs no Prisma package itself (it works on any
 * generated client), the application brings its own.
 */
export {
  createTenantDb,
  type PrismaClientLike,
  type TenantDb,
  type TenantDbOptions,
  type TenantTransactionOptions,
  type TransactionClient,
} from './prisma.js';
export { createPrismaPool } from './prisma-pool.js';
