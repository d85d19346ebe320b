import type { PrismaClient } from '@prospectflow/db-schema';
import type { TenantDb } from '../src/index.js';
import type { StressBackend } from './stress.js';

const row = { id: true, organisationId: true } as const;

/** Stress operations through Prisma: most on the unit's `tx`, every fourth on the guarded client (joined via the async context). */
export function prismaBackend(db: TenantDb<PrismaClient>): StressBackend {
  let flip = 0;
  return {
    unit: (organisationId, body) =>
      db.forTenant(
        { organisationId },
        (tx) => {
          const pick = () => (flip++ % 4 === 0 ? db.client : tx);
          return body({
            insert: (name) => pick().company.create({ data: { name }, select: row }),
            recent: () =>
              pick().company.findMany({
                orderBy: { createdAt: 'desc' },
                take: 10,
                select: { ...row, name: true },
              }),
            byId: (id) => pick().company.findMany({ where: { id }, select: row }),
            rename: async (id, name) =>
              (await pick().company.updateMany({ where: { id }, data: { description: name } })).count,
          });
        },
        { maxWait: 60_000, timeout: 60_000 },
      ),
  };
}
