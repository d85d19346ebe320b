import { ROLES, rolePassword } from '@prospectflow/db-schema';
import { createPrismaClient } from '@prospectflow/db-schema/prisma';
import { type RunningPgBouncer, startPgBouncer } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDbNoOrganisationError, NoTenantError } from '../src/index.js';
import { createPrismaPool, createTenantDb } from '../src/prisma-entry.js';
import { adminQuery, createTenantFixture, type TenantFixture, watchPool } from './helpers.js';
import { prismaBackend } from './prisma-backend.js';
import { runStress } from './stress.js';

let fixture: TenantFixture;

beforeAll(async () => {
  fixture = await createTenantFixture('bouncer_prisma1', 50);
});

afterAll(async () => {
  await fixture?.drop();
});

async function expectEveryStoredRowInItsOrganisation(): Promise<void> {
  const misplaced = await adminQuery<{ n: number }>(
    fixture.database.adminUrl,
    `SELECT count(*)::int AS n FROM crm.companies
     WHERE split_part(name, ':', 1) <> organisation_id::text
        OR (description IS NOT NULL AND split_part(description, ':', 1) <> organisation_id::text)`,
  );
  expect(misplaced[0]!.n).toBe(0);
}

async function stressThrough(url: string, seed: number, operations = 10_000): Promise<void> {
  const pool = createPrismaPool({ connectionString: url, max: 20 });
  const prisma = createPrismaClient(pool);
  try {
    const report = await runStress(prismaBackend(createTenantDb(prisma)), fixture.organisations, {
      seed,
      operations,
    });
    expect(report.operations).toBe(operations);
    expect(report.wrongRows).toEqual([]);
  } finally {
    await prisma.$disconnect();
    await pool.end();
  }
  await expectEveryStoredRowInItsOrganisation();
}

const appPassword = () => rolePassword('app');

async function bouncerFor(poolSize: number): Promise<{ bouncer: RunningPgBouncer; url: string }> {
  const bouncer = await startPgBouncer({
    targetUrl: fixture.database.adminUrl,
    poolSize,
    poolMode: 'transaction',
    users: [{ user: ROLES.app, password: appPassword() }],
  });
  return { bouncer, url: bouncer.url(ROLES.app, appPassword(), fixture.database.name) };
}

// Prisma costs ~1 ms of CPU per query; the full 10,000 run is kept for the pgBouncer cases below.
const STRESS_TIMEOUT_MS = 240_000;

describe.each([1])('Prisma through pgBouncer (transaction mode, default_pool_size=%i)', (poolSize) => {
  it(
    '10,000 interleaved operations from 50 organisations never touch another organisation',
    async () => {
      const { bouncer, url } = await bouncerFor(poolSize);
      try {
        await stressThrough(url, 200 + poolSize);
      } finally {
        await bouncer.stop();
      }
    },
    STRESS_TIMEOUT_MS,
  );
});

describe('Prisma and a stray session-level SET through pgBouncer (default_pool_size=1)', () => {
  it('the next unit sees only its own organisation and scrubs the stray value', async () => {
    const [orgA, orgB] = fixture.organisations as [string, string];
    const { bouncer, url } = await bouncerFor(1);
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    const pool = createPrismaPool({ connectionString: url, max: 3 });
    const watched = watchPool(pool);
    const prisma = createPrismaClient(pool);
    const db = createTenantDb(prisma);
    try {
      await db.forTenant({ organisationId: orgA }, (tx) =>
        tx.company.create({ data: { name: `${orgA}:prisma-stray-probe` } }),
      );
      await raw.query(`SET app.organisation_id = '${orgA}'`);
      const leaked = await raw.query<{ n: number }>('SELECT count(*)::int AS n FROM crm.companies');
      expect(leaked.rows[0]!.n).toBeGreaterThan(0);

      const seen = await db.forTenant({ organisationId: orgB }, async (tx) => {
        const [setting] = await tx.$queryRaw<
          { org: string }[]
        >`SELECT current_setting('app.organisation_id') AS org`;
        const rows = await tx.company.findMany({ select: { organisationId: true } });
        return { org: setting!.org, orgs: [...new Set(rows.map((r) => r.organisationId))] };
      });
      expect(seen.org).toBe(orgB);
      expect(seen.orgs.every((o) => o === orgB)).toBe(true);

      const after = await raw.query<{ org: string | null }>(
        "SELECT current_setting('app.organisation_id', true) AS org",
      );
      expect(after.rows[0]!.org).toBe('');
      const refused = await raw.query('SELECT count(*) FROM crm.companies').catch((e: unknown) => e);
      expect(isDbNoOrganisationError(refused)).toBe(true);

      const acquiredBefore = watched.acquired();
      await expect(db.client.company.findMany()).rejects.toBeInstanceOf(NoTenantError);
      expect(watched.acquired()).toBe(acquiredBefore);
    } finally {
      await raw.end();
      await prisma.$disconnect();
      await pool.end();
      await bouncer.stop();
    }
  });
});
