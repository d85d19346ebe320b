import type { PrismaClient } from '@prospectflow/db-schema/prisma';
import { runWithTenant } from '../src/index.js';
import type { TenantDb } from '../src/prisma-entry.js';
import type { StressBackend, StressOps } from './stress.js';

const row = { id: true, organisationId: true } as const;
type Companies = PrismaClient['company'];

function opsOn(companies: () => Companies): StressOps {
  return {
    insert: (name) => companies().create({ data: { name }, select: row }),
    recent: () =>
      companies().findMany({ orderBy: { createdAt: 'desc' }, take: 10, select: { ...row, name: true } }),
    byId: async (id) => {
      const found = await companies().findFirst({ where: { id }, select: row });
      return found ? [found] : [];
    },
    rename: async (id, name) =>
      (await companies().updateMany({ where: { id }, data: { description: name } })).count,
  };
}

/**
 * Stress operations through Prisma. Two units in three are db.transaction units: most operations
 * on the unit's `tx`, every fourth on the guarded client (joined via the async context). Every
 * third unit is a run of single calls on the guarded client outside any unit, each its own
 * transaction (one round trip on createPrismaPool).
 */
export function prismaBackend(db: TenantDb<PrismaClient>): StressBackend {
  let flip = 0;
  let units = 0;
  return {
    unit: (organisationId, body) => {
      if (units++ % 3 === 2)
        return runWithTenant({ organisationId }, () => body(opsOn(() => db.client.company)));
      return db.forTenant(
        { organisationId },
        (tx) => body(opsOn(() => (flip++ % 4 === 0 ? db.client : tx).company)),
        { maxWait: 60_000, timeout: 60_000 },
      );
    },
  };
}
