import { randomUUID } from 'node:crypto';
import { createPrismaClient, type PrismaClient } from '@prospectflow/db-schema/prisma';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isDbNoOrganisationError,
  NoTenantError,
  runAsSystem,
  runWithTenant,
  SystemScopeError,
  TenantMismatchError,
  TransactionTimeoutError,
  UnsafeQueryError,
} from '../src/index.js';
import { createPrismaPool, createTenantDb, type TenantDb } from '../src/prisma-entry.js';
import { adminQuery, createTenantFixture, type TenantFixture, watchPool } from './helpers.js';

let fixture: TenantFixture;
let pool: pg.Pool;
let watched: ReturnType<typeof watchPool>;
let prisma: PrismaClient;
let db: TenantDb<PrismaClient>;
let orgA: string;
let orgB: string;

async function adminCompanies(organisationId: string): Promise<string[]> {
  const rows = await adminQuery<{ name: string }>(
    fixture.database.adminUrl,
    'SELECT name FROM crm.companies WHERE organisation_id = $1 ORDER BY name',
    [organisationId],
  );
  return rows.map((r) => r.name);
}

// Every behaviour holds on a plain pool (settings as their own statement) and on createPrismaPool
// (settings sent with BEGIN and the first statement).
const makePool = {
  plain: (config: pg.PoolConfig) => new pg.Pool(config),
  pipelined: (config: pg.PoolConfig) => createPrismaPool(config),
};

describe.each(['plain', 'pipelined'] as const)('createTenantDb (Prisma) on a %s pool', (kind) => {
  beforeAll(async () => {
    fixture = await createTenantFixture(`prisma_${kind}`, 2);
    [orgA, orgB] = fixture.organisations as [string, string];
    pool = makePool[kind]({ connectionString: fixture.appUrl, max: 4, connectionTimeoutMillis: 10_000 });
    watched = watchPool(pool);
    prisma = createPrismaClient(pool);
    db = createTenantDb(prisma);
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await pool?.end();
    await fixture?.drop();
  });

  it('throws before any query when a tenant model is used outside a unit of work', async () => {
    const before = watched.acquired();
    await expect(db.client.company.findMany()).rejects.toBeInstanceOf(NoTenantError);
    await expect(db.client.company.create({ data: { name: 'x' } })).rejects.toBeInstanceOf(NoTenantError);
    await expect(db.transaction(async (tx) => tx.company.findMany())).rejects.toBeInstanceOf(NoTenantError);
    await expect(db.client.$queryRaw`SELECT 1`).rejects.toBeInstanceOf(UnsafeQueryError);
    expect(watched.acquired()).toBe(before);
    // Global models need no organisation: the guard lets them through to the database, which
    // refuses the runtime roles (they hold no privilege on iam.organisations, migration 1010).
    const global = await db.client.organisation.findMany({ select: { id: true } }).catch((e: unknown) => e);
    expect(global).not.toBeInstanceOf(NoTenantError);
    expect(String(global)).toMatch(/permission denied for table organisations/);
  });

  it('and the database refuses the unguarded client too (PF001)', async () => {
    const error = await prisma.company.findMany().catch((e: unknown) => e);
    expect(isDbNoOrganisationError(error)).toBe(true);
  });

  it('runs the unit in one transaction with the organisation and user set first', async () => {
    const userId = randomUUID();
    const seen = await db.forTenant({ organisationId: orgA, userId }, async (tx) => {
      await tx.company.create({ data: { name: 'a-1' } });
      await db.client.company.create({ data: { name: 'a-2' } });
      const [settings] = await tx.$queryRaw<{ org: string; user: string }[]>`
        SELECT current_setting('app.organisation_id') AS org, current_setting('app.user_id') AS user`;
      return {
        settings,
        names: (await db.client.company.findMany({ orderBy: { name: 'asc' } })).map((c) => c.name),
      };
    });
    expect(seen).toEqual({ settings: { org: orgA, user: userId }, names: ['a-1', 'a-2'] });
    expect(await db.forTenant({ organisationId: orgB }, (tx) => tx.company.count())).toBe(0);
  });

  it('really undoes every write when the unit throws (prisma/orm#20678)', async () => {
    const attempt = db.forTenant({ organisationId: orgB }, async (tx) => {
      await tx.company.create({ data: { name: 'b-undone-tx' } });
      await db.client.company.create({ data: { name: 'b-undone-guarded' } });
      await tx.company.updateMany({ data: { description: 'touched' } });
      throw new Error('handler failed');
    });
    await expect(attempt).rejects.toThrow('handler failed');
    expect(await adminCompanies(orgB)).toEqual([]);
  });

  it('nests same-organisation units as savepoints and refuses another organisation', async () => {
    const names = await db.forTenant({ organisationId: orgB }, async (tx) => {
      await tx.company.create({ data: { name: 'b-outer' } });
      await db.transaction(async (inner) => {
        await inner.company.create({ data: { name: 'b-inner-kept' } });
      });
      await db
        .transaction(async (inner) => {
          await inner.company.create({ data: { name: 'b-inner-undone' } });
          throw new Error('inner fails');
        })
        .catch(() => {});
      await expect(
        db.forTenant({ organisationId: orgA }, (other) => other.company.count()),
      ).rejects.toBeInstanceOf(TenantMismatchError);
      return (await tx.company.findMany({ orderBy: { name: 'asc' } })).map((c) => c.name);
    });
    expect(names).toEqual(['b-inner-kept', 'b-outer']);
    expect(await adminCompanies(orgB)).toEqual(['b-inner-kept', 'b-outer']);
  });

  it("keeps the unit's own calls out of a nested unit's savepoint, unless made from inside it", async () => {
    const prefix = `b-beside-${randomUUID().slice(0, 8)}`;
    const outcome = await db.forTenant({ organisationId: orgB }, async (tx) => {
      await tx.company.count();
      const later = () => new Promise((resolve) => setTimeout(resolve, 10));
      const beside = await Promise.allSettled([
        db.transaction(async (inner) => {
          await inner.company.create({ data: { name: `${prefix}-inner-undone` } });
          await new Promise((resolve) => setTimeout(resolve, 50));
          // The outer tx used from inside the nested unit belongs to it (and is undone with it).
          await tx.company.create({ data: { name: `${prefix}-via-outer-undone` } });
          throw new Error('inner fails');
        }),
        // Made beside the nested unit, while its savepoint is open: reported done, so they must stay.
        later().then(() => tx.company.create({ data: { name: `${prefix}-tx-kept` } })),
        later().then(() => db.client.company.create({ data: { name: `${prefix}-guarded-kept` } })),
      ]);
      return beside.map((r) => r.status);
    });
    expect(outcome).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect((await adminCompanies(orgB)).filter((n) => n.startsWith(prefix))).toEqual([
      `${prefix}-guarded-kept`,
      `${prefix}-tx-kept`,
    ]);
  });

  it('never batches same-tick findUnique calls of two organisations together (prisma/prisma#23343)', async () => {
    const ids = await Promise.all(
      [orgA, orgB].map((organisationId) =>
        db.forTenant({ organisationId }, (tx) =>
          tx.company.create({ data: { name: `${organisationId}-unique` }, select: { id: true } }),
        ),
      ),
    );
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(
        [orgA, orgB, orgA, orgB].map((organisationId, i) =>
          db.forTenant({ organisationId }, () =>
            Promise.all([
              db.client.company.findUnique({
                where: { organisationId_id: { organisationId: orgA, id: ids[0]!.id } },
              }),
              db.client.company.findUnique({
                where: { organisationId_id: { organisationId: orgB, id: ids[1]!.id } },
              }),
            ]).then(([a, b]) => ({ i, organisationId, a: a?.name ?? null, b: b?.name ?? null })),
          ),
        ),
      );
      for (const r of results) {
        expect(r.a).toBe(r.organisationId === orgA ? `${orgA}-unique` : null);
        expect(r.b).toBe(r.organisationId === orgB ? `${orgB}-unique` : null);
      }
    }
  });

  it('runs a tenant model call outside a unit as a transaction of its own, under the organisation', async () => {
    const other = await db.forTenant({ organisationId: orgB }, (tx) =>
      tx.company.create({ data: { name: 'b-single' }, select: { id: true } }),
    );
    const seen = await runWithTenant({ organisationId: orgA }, async () => {
      const created = await db.client.company.create({ data: { name: 'a-single' } });
      // Two statements (INSERT, then the relation's SELECT): Prisma opens a transaction for them.
      const withPositions = await db.client.company.create({
        data: { name: 'a-single-include' },
        include: { positions: true },
      });
      return {
        organisations: [created.organisationId, withPositions.organisationId],
        positions: withPositions.positions,
        names: (
          await db.client.company.findMany({
            where: { name: { startsWith: 'a-single' } },
            orderBy: { name: 'asc' },
          })
        ).map((c) => c.name),
        otherByFirst: await db.client.company.findFirst({ where: { id: other.id } }),
        otherByUnique: await db.client.company.findUnique({
          where: { organisationId_id: { organisationId: orgB, id: other.id } },
        }),
        otherUpdated: (
          await db.client.company.updateMany({ where: { id: other.id }, data: { description: 'x' } })
        ).count,
      };
    });
    expect(seen).toEqual({
      organisations: [orgA, orgA],
      positions: [],
      names: ['a-single', 'a-single-include'],
      otherByFirst: null,
      otherByUnique: null,
      otherUpdated: 0,
    });
    expect(await adminCompanies(orgA)).toEqual(expect.arrayContaining(['a-single', 'a-single-include']));
  });

  it('never answers a single call from a stray session-level SET left on its connection', async () => {
    await db.forTenant({ organisationId: orgA }, (tx) => tx.company.create({ data: { name: 'a-stray' } }));
    // One connection, left with another organisation by some other user of the pool.
    const small = makePool[kind]({ connectionString: fixture.appUrl, max: 1 });
    const smallPrisma = createPrismaClient(small);
    try {
      await small.query(`SET app.organisation_id = '${orgA}'`);
      const fresh = createTenantDb(smallPrisma);
      const seen = await runWithTenant({ organisationId: orgB }, async () => {
        const created = await fresh.client.company.create({ data: { name: 'b-stray' } });
        const rows = await fresh.client.company.findMany({ select: { organisationId: true } });
        return [created.organisationId, ...rows.map((r) => r.organisationId)];
      });
      expect(new Set(seen)).toEqual(new Set([orgB]));
      expect(await adminCompanies(orgA)).not.toContain('b-stray');
    } finally {
      await smallPrisma.$disconnect();
      await small.end();
    }
  });

  it('gives a single call the user id too, for audit', async () => {
    const actor = randomUUID();
    // A user row is written by the owner here: the runtime roles cannot (migration 1010).
    const [user] = await adminQuery<{ id: string }>(
      fixture.database.adminUrl,
      'INSERT INTO iam.users (cognito_sub) VALUES ($1) RETURNING id',
      [`single-${actor}`],
    );
    const membership = await runWithTenant({ organisationId: orgA, userId: actor }, async () =>
      db.client.organisationUser.create({ data: { userId: user!.id } }),
    );
    const audit = await adminQuery<{ organisation_id: string; actor_user_id: string }>(
      fixture.database.adminUrl,
      'SELECT organisation_id, actor_user_id FROM iam.audit_log WHERE row_id = $1',
      [membership.id],
    );
    expect(audit).toEqual([{ organisation_id: orgA, actor_user_id: actor }]);
  });

  it('undoes the whole of a single call that fails halfway', async () => {
    // INSERT company, then INSERT position: the position names a person that does not exist.
    const attempt = runWithTenant({ organisationId: orgA }, async () =>
      db.client.company.create({
        data: { name: 'a-half-written', positions: { create: { personId: randomUUID() } } },
      }),
    );
    await expect(attempt).rejects.toThrow(/positions_organisation_id_person_id_fkey/);
    expect(await adminCompanies(orgA)).not.toContain('a-half-written');
  });

  it("refuses Prisma's own $transaction on the guarded client: units are the only transactions", async () => {
    await runWithTenant({ organisationId: orgA }, async () => {
      await expect(db.client.$transaction([db.client.company.count()])).rejects.toBeInstanceOf(
        UnsafeQueryError,
      );
      await expect(
        db.client.$transaction(async (tx) => await tx.company.create({ data: { name: 'a-own-tx' } })),
      ).rejects.toBeInstanceOf(UnsafeQueryError);
    });
    expect(await adminCompanies(orgA)).not.toContain('a-own-tx');
  });

  it('never lets same-tick single calls of two organisations see each other (prisma/prisma#23343)', async () => {
    const ids = await Promise.all(
      [orgA, orgB].map((organisationId) =>
        db.forTenant({ organisationId }, (tx) =>
          tx.company.create({ data: { name: `${organisationId}-tick` }, select: { id: true } }),
        ),
      ),
    );
    const lookups = (id: string, organisationId: string) => [
      db.client.company.findUnique({ where: { organisationId_id: { organisationId, id } } }),
      db.client.company.findFirst({ where: { id } }),
      db.client.company.findMany({ where: { id } }).then((rows) => rows[0] ?? null),
    ];
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(
        [orgA, orgB, orgA, orgB].map((organisationId) =>
          runWithTenant({ organisationId }, async () => {
            const found = await Promise.all([...lookups(ids[0]!.id, orgA), ...lookups(ids[1]!.id, orgB)]);
            return { organisationId, names: found.map((row) => row?.name ?? null) };
          }),
        ),
      );
      for (const { organisationId, names } of results) {
        const own = (org: string) => (organisationId === org ? `${org}-tick` : null);
        expect(names).toEqual([own(orgA), own(orgA), own(orgA), own(orgB), own(orgB), own(orgB)]);
      }
    }
  });

  it('gives a clear error when no connection frees up within maxWait, then recovers', async () => {
    const small = makePool[kind]({ connectionString: fixture.appUrl, max: 1 });
    const smallPrisma = createPrismaClient(small);
    const smallDb = createTenantDb(smallPrisma, { maxWait: 200, timeout: 10_000 });
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const holder = smallDb.forTenant({ organisationId: orgA }, async (tx) => {
      await tx.company.count();
      entered();
      await held;
    });
    await inside;
    const waiting = await smallDb
      .forTenant({ organisationId: orgA }, (tx) => tx.company.count())
      .catch((e: unknown) => e);
    expect(waiting).toBeInstanceOf(TransactionTimeoutError);
    expect((waiting as TransactionTimeoutError).code).toBe('tenant_transaction_timeout');
    expect((waiting as Error).message).toMatch(/maxWait=200/);
    letGo();
    await holder;
    expect(
      await smallDb.forTenant({ organisationId: orgA }, (tx) => tx.company.count()),
    ).toBeGreaterThanOrEqual(0);
    await smallPrisma.$disconnect();
    await small.end();
  });

  it('rolls back a unit that outlives its timeout', async () => {
    const attempt = db.forTenant(
      { organisationId: orgA },
      async (tx) => {
        await tx.company.create({ data: { name: 'a-too-slow' } });
        await new Promise((resolve) => setTimeout(resolve, 600));
        return tx.company.count();
      },
      { timeout: 200 },
    );
    await expect(attempt).rejects.toBeInstanceOf(TransactionTimeoutError);
    expect(await adminCompanies(orgA)).not.toContain('a-too-slow');
  });

  it('offers a system transaction only inside runAsSystem', async () => {
    await expect(db.systemTransaction(async (tx) => tx.$queryRaw`SELECT 1`)).rejects.toBeInstanceOf(
      SystemScopeError,
    );
    const refused = await runAsSystem('prisma system probe', () =>
      db.systemTransaction((tx) => tx.company.count()).catch((e: unknown) => e),
    );
    expect(isDbNoOrganisationError(refused)).toBe(true);
    const ok = await runAsSystem('prisma system probe', () =>
      db.systemTransaction((tx) => tx.$queryRaw<{ one: number }[]>`SELECT 1 AS one`),
    );
    expect(ok).toEqual([{ one: 1 }]);
    expect(() => runWithTenant({ organisationId: orgA }, () => db.currentTx())).toThrow(NoTenantError);
  });
});
