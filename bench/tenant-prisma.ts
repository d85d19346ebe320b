/**
 * Prisma: the same lookup as a tenant unit of work (one interactive transaction, organisation
 * set first; the client is on createPrismaPool, so BEGIN + settings ride with the first statement)
 * and as a single call on the guarded client outside a unit (settings + statement in one round
 * trip) vs Prisma as the superuser without RLS and without a transaction, and vs the superuser in
 * the same interactive-transaction shape (isolates what the tenant itself costs). Target ≤ 1.2.
 */
import { compare, importPg, prepareBenchDatabase, printRatio } from './tenant-bench-support.js';

type DbSchemaPrisma = typeof import('@prospectflow/db-schema/prisma');
type TenantContext = typeof import('@prospectflow/tenant-context');
type TenantContextPrisma = typeof import('@prospectflow/tenant-context/prisma');

const pg = await importPg();
const { createPrismaClient } = (await import('@prospectflow/db-schema/prisma')) as unknown as DbSchemaPrisma;
const { runWithTenant } = (await import('@prospectflow/tenant-context')) as TenantContext;
const { createPrismaPool, createTenantDb } = (await import(
  '@prospectflow/tenant-context/prisma'
)) as TenantContextPrisma;

const db = await prepareBenchDatabase();
// The owner's pool is ours, so it is surely closed before DROP DATABASE … FORCE ends the run (a
// connection still open then fails with 57P01, which an idle pg pool throws as an uncaught error).
const ownerPool = new pg.Pool({ connectionString: db.adminUrl });
const owner = createPrismaClient(ownerPool);
const appPool = createPrismaPool({ connectionString: db.appUrl });
const app = createPrismaClient(appPool);
const tenantDb = createTenantDb(app);
const target = db.target;
const where = (organisationId: string, id: string) => ({ organisationId_id: { organisationId, id } });

try {
  const single = await compare({
    owner: (i) => {
      const { organisationId, id } = target(i);
      return owner.company.findUnique({ where: where(organisationId, id) });
    },
    ownerTransaction: (i) => {
      const { organisationId, id } = target(i);
      return owner.$transaction((tx) => tx.company.findUnique({ where: where(organisationId, id) }));
    },
    tenant: (i) => {
      const { organisationId, id } = target(i);
      return tenantDb.forTenant({ organisationId }, (tx) =>
        tx.company.findUnique({ where: where(organisationId, id) }),
      );
    },
    // findFirst on the key: the same SQL as findUnique, but never batched by Prisma, so a single
    // call needs no transaction (a single findUnique runs as a unit, as `tenant` above).
    ownerFirst: (i) => {
      const { organisationId, id } = target(i);
      return owner.company.findFirst({ where: { organisationId, id } });
    },
    singleCall: (i) => {
      const { organisationId, id } = target(i);
      return runWithTenant(
        { organisationId },
        async () => await tenantDb.client.company.findFirst({ where: { organisationId, id } }),
      );
    },
  });
  const batch = await compare(
    {
      owner: async (i) => {
        const { organisationId } = target(i);
        const ids = db.companiesByOrganisation.get(organisationId)!;
        for (let k = 0; k < 10; k++)
          await owner.company.findUnique({ where: where(organisationId, ids[(i + k) % ids.length]!) });
      },
      tenant: (i) => {
        const { organisationId } = target(i);
        const ids = db.companiesByOrganisation.get(organisationId)!;
        return tenantDb.forTenant({ organisationId }, async (tx) => {
          for (let k = 0; k < 10; k++)
            await tx.company.findUnique({ where: where(organisationId, ids[(i + k) % ids.length]!) });
        });
      },
    },
    { samples: 300 },
  );
  console.log(
    `PostgreSQL ${db.serverVersion}, Prisma 7 + adapter-pg; medians of interleaved single operations`,
  );
  printRatio(
    '1 findFirst by key as a single call outside a unit (one round trip) vs owner',
    single.singleCall!,
    single.ownerFirst!,
    1.2,
  );
  printRatio(
    '1 findUnique per unit of work (tenant tx vs owner, no RLS)',
    single.tenant!,
    single.owner!,
    1.2,
  );
  printRatio(
    '10 findUnique per unit of work (tenant tx vs 10 owner calls)',
    batch.tenant!,
    batch.owner!,
    1.2,
  );
  printRatio(
    '1 findUnique, tenant tx vs an owner interactive tx (no RLS)',
    single.tenant!,
    single.ownerTransaction!,
    1.2,
  );
} finally {
  await owner.$disconnect();
  await app.$disconnect();
  await ownerPool.end();
  await appPool.end();
  await db.stop();
}
