import { type TenantClient, withTenant } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';

export interface Tenant {
  organisationId: string;
  userId?: string | null;
}

/**
 * One @prospectflow/tenant-context unit of work for `tenant`. The import engine is handed its
 * tenant explicitly (background runner, CLI), so it enters the async context here. Inside an open
 * unit on the same pool this becomes a savepoint, unless `independent`: its own transaction on
 * another connection that commits whatever the surrounding unit does (progress, failure records).
 */
export function inTenantUnit<T>(
  pool: Pool,
  tenant: Tenant,
  fn: (client: TenantClient) => Promise<T>,
  options: { independent?: boolean } = {},
): Promise<T> {
  const context = {
    organisationId: tenant.organisationId,
    ...(tenant.userId ? { userId: tenant.userId } : {}),
  };
  return withTenant(pool, context, fn, options);
}
