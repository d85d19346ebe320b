import { createTestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { expect, it } from 'vitest';
import { createPrismaClient } from '../src/prisma.js';
import { ROLES, roleUrl } from '../src/roles.js';
import { DEMO_IDS, seedDemo } from '../src/seed.js';

it('createPrismaClient reads through adapter-pg as the app role, only inside a tenant transaction', async () => {
  const db = await createTestDatabase('prisma');
  const pool = new pg.Pool({ connectionString: roleUrl(db.adminUrl, ROLES.app), max: 2 });
  const prisma = createPrismaClient(pool);
  try {
    await seedDemo(roleUrl(db.adminUrl, ROLES.migrator));
    const positions = await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT set_config('app.organisation_id', ${DEMO_IDS.organisation}, true)`;
      return await tx.position.findMany({ include: { company: true, person: true }, orderBy: { id: 'asc' } });
    });
    expect(positions.map((p) => p.company.name)).toEqual([
      'Acme Industrie',
      'Bleu Logistique',
      'Cèdre Conseil',
    ]);
    expect(positions[0]!.organisationId).toBe(DEMO_IDS.organisation);
    await expect(prisma.position.findMany()).rejects.toThrow(/no organisation in context/);
  } finally {
    await prisma.$disconnect();
    await pool.end();
    await db.drop();
  }
});
