import { ROLES, rolePassword } from '@prospectflow/db-schema';
import { createPrismaClient } from '@prospectflow/db-schema/prisma';
import { type RunningPgBouncer, startPgBouncer } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaPool, createTenantDb } from '../src/prisma-entry.js';
import { adminQuery, createTenantFixture, type TenantFixture } from './helpers.js';
import { prismaBackend } from './prisma-backend.js';
import { runStress } from './stress.js';

let fixture: TenantFixture;

beforeAll(async () => {
  fixture = await createTenantFixture('bouncer_prisma', 50);
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

// A plain pool (settings as the unit's first statement) and createPrismaPool (settings pipelined with BEGIN).
const makePool = {
  plain: (config: pg.PoolConfig) => new pg.Pool(config),
  pipelined: (config: pg.PoolConfig) => createPrismaPool(config),
};

async function stressThrough(
  url: string,
  seed: number,
  kind: keyof typeof makePool,
  operations = 10_000,
): Promise<void> {
  const pool = makePool[kind]({ connectionString: url, max: 20 });
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

describe('Prisma, direct to PostgreSQL', () => {
  it(
    '2,000 interleaved operations from 50 organisations never touch another organisation',
    async () => {
      await stressThrough(fixture.appUrl, 7, 'plain', 2_000);
    },
    STRESS_TIMEOUT_MS,
  );
});

describe.each([5])('Prisma through pgBouncer (transaction mode, default_pool_size=%i)', (poolSize) => {
  it.each(['plain', 'pipelined'] as const)(
    '10,000 interleaved operations from 50 organisations never touch another organisation (%s pool)',
    async (kind) => {
      const { bouncer, url } = await bouncerFor(poolSize);
      try {
        await stressThrough(url, 200 + poolSize, kind);
      } finally {
        await bouncer.stop();
      }
    },
    STRESS_TIMEOUT_MS,
  );
});
