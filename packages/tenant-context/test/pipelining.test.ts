import { randomUUID } from 'node:crypto';
import { createPrismaClient } from '@prospectflow/db-schema/prisma';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NoTenantError,
  runWithTenant,
  tenantQuery,
  UnsafeQueryError,
  withTenantClient,
} from '../src/index.js';
import { createPrismaPool, createTenantDb } from '../src/prisma-entry.js';
import { adminQuery, createTenantFixture, type TenantFixture, watchPool } from './helpers.js';

let fixture: TenantFixture;
let pool: pg.Pool;
let orgA: string;
let orgB: string;
/** Round trips, counted as the server's ReadyForQuery messages: exactly one per round trip. */
let roundTrips: number;

function countRoundTrips(target: pg.Pool, count: () => void): void {
  target.on('connect', (client) => {
    (client as unknown as { connection: NodeJS.EventEmitter }).connection.on('readyForQuery', count);
  });
}

beforeAll(async () => {
  fixture = await createTenantFixture('pipelining', 2);
  [orgA, orgB] = fixture.organisations as [string, string];
  pool = new pg.Pool({ connectionString: fixture.appUrl, max: 2, connectionTimeoutMillis: 5000 });
  countRoundTrips(pool, () => roundTrips++);
});

afterAll(async () => {
  await pool?.end();
  await fixture?.drop();
});

const companiesOf = async (organisationId: string) =>
  (
    await adminQuery<{ name: string }>(
      fixture.database.adminUrl,
      'SELECT name FROM crm.companies WHERE organisation_id = $1 ORDER BY name',
      [organisationId],
    )
  ).map((r) => r.name);

describe('withTenantClient opens its transaction with the first statement', () => {
  it('sends BEGIN, the settings and the first statement in one round trip, then COMMIT', async () => {
    roundTrips = 0;
    const seen = await runWithTenant({ organisationId: orgA }, () =>
      withTenantClient(pool, async (c) => {
        const { rows } = await c.query<{ org: string }>(
          "SELECT current_setting('app.organisation_id') AS org",
        );
        return rows[0]!.org;
      }),
    );
    expect(seen).toBe(orgA);
    expect(roundTrips).toBe(2);
  });

  it('keeps every statement of the unit in that one transaction', async () => {
    const started = await runWithTenant({ organisationId: orgA }, () =>
      withTenantClient(pool, async (c) => {
        const first = await c.query<{ xid: string }>('SELECT txid_current()::text AS xid');
        await c.query("INSERT INTO crm.companies (name) VALUES ('pipelined-1')");
        const second = await c.query<{ xid: string }>('SELECT txid_current()::text AS xid');
        return [first.rows[0]!.xid, second.rows[0]!.xid];
      }),
    );
    expect(started[0]).toBe(started[1]);
    expect(await companiesOf(orgA)).toContain('pipelined-1');
  });

  it('opens no transaction at all for a unit that never queries', async () => {
    roundTrips = 0;
    await runWithTenant({ organisationId: orgA }, () => withTenantClient(pool, async () => 'nothing'));
    expect(roundTrips).toBe(0);
  });

  it('rolls back when the first (pipelined) statement fails, and the next unit is clean', async () => {
    await expect(
      runWithTenant({ organisationId: orgB }, () =>
        withTenantClient(pool, (c) => c.query("INSERT INTO crm.companies (name) VALUES ('b-gone'), (NULL)")),
      ),
    ).rejects.toThrow(/null value/);
    await expect(
      runWithTenant({ organisationId: orgB }, () =>
        withTenantClient(pool, async (c) => {
          await c.query("INSERT INTO crm.companies (name) VALUES ('b-kept')");
          await c.query('SELECT 1/0');
        }),
      ),
    ).rejects.toThrow(/division by zero/);
    const names = await companiesOf(orgB);
    expect(names).not.toContain('b-gone');
    expect(names).not.toContain('b-kept');
  });

  it('a first nested unit carries the opening with its SAVEPOINT', async () => {
    roundTrips = 0;
    await runWithTenant({ organisationId: orgA }, () =>
      withTenantClient(pool, () =>
        withTenantClient(pool, (c) => c.query("INSERT INTO crm.companies (name) VALUES ('nested-first')")),
      ),
    );
    // [BEGIN, settings, SAVEPOINT] · INSERT · RELEASE · COMMIT
    expect(roundTrips).toBe(4);
    expect(await companiesOf(orgA)).toContain('nested-first');
  });
});

describe('tenantQuery: one statement, one round trip', () => {
  it('runs under the current organisation and user for that statement only', async () => {
    const userId = randomUUID();
    roundTrips = 0;
    const { rows } = await runWithTenant({ organisationId: orgA, userId }, () =>
      tenantQuery<{ org: string; user: string; n: number }>(
        pool,
        "SELECT current_setting('app.organisation_id') AS org, current_setting('app.user_id') AS user, (SELECT count(*)::int FROM crm.companies WHERE organisation_id <> $1) AS n",
        [orgA],
      ),
    );
    expect(rows[0]).toEqual({ org: orgA, user: userId, n: 0 });
    expect(roundTrips).toBe(1);
    // The settings were transaction-local: the connection goes back to the pool holding nothing.
    const client = await pool.connect();
    const after = await client.query<{ org: string | null }>(
      "SELECT current_setting('app.organisation_id', true) AS org",
    );
    client.release();
    expect(after.rows[0]!.org ?? '').toBe('');
  });

  it('writes under the organisation, and an error writes nothing', async () => {
    await runWithTenant({ organisationId: orgB }, () =>
      tenantQuery(pool, 'INSERT INTO crm.companies (name) VALUES ($1)', ['b-one-shot']),
    );
    expect(await companiesOf(orgB)).toContain('b-one-shot');
    await expect(
      runWithTenant({ organisationId: orgB }, () =>
        tenantQuery(
          pool,
          "INSERT INTO crm.companies (name) SELECT 'b-never' FROM generate_series(1, 2) g WHERE 1/(g - 2) > 0",
        ),
      ),
    ).rejects.toThrow(/division by zero/);
    expect(await companiesOf(orgB)).not.toContain('b-never');
  });

  it('refuses without an organisation before touching the pool, and refuses transaction control', async () => {
    const lonely = new pg.Pool({ connectionString: fixture.appUrl, max: 1 });
    const watched = watchPool(lonely);
    await expect(tenantQuery(lonely, 'SELECT 1')).rejects.toBeInstanceOf(NoTenantError);
    await expect(
      runWithTenant({ organisationId: orgA }, () => tenantQuery(lonely, 'BEGIN')),
    ).rejects.toBeInstanceOf(UnsafeQueryError);
    expect(watched.acquired()).toBe(0);
    await lonely.end();
  });

  it('joins an open unit on the same pool, so the unit rollback undoes it', async () => {
    await expect(
      runWithTenant({ organisationId: orgA }, () =>
        withTenantClient(pool, async () => {
          await tenantQuery(pool, "INSERT INTO crm.companies (name) VALUES ('a-joined')");
          throw new Error('undo');
        }),
      ),
    ).rejects.toThrow('undo');
    expect(await companiesOf(orgA)).not.toContain('a-joined');
  });
});

describe('createPrismaPool: a Prisma unit opens in the round trip of its first statement, a single call is one round trip', () => {
  async function roundTripsOf(makePool: (config: pg.PoolConfig) => pg.Pool, organisationId: string) {
    const prismaPool = makePool({ connectionString: fixture.appUrl, max: 1 });
    let ready = 0;
    prismaPool.on('connect', (client) => {
      (client as unknown as { connection: NodeJS.EventEmitter }).connection.on(
        'readyForQuery',
        () => ready++,
      );
    });
    const prisma = createPrismaClient(prismaPool);
    const db = createTenantDb(prisma);
    try {
      await db.forTenant({ organisationId }, () => Promise.resolve()); // warm: connect outside the count
      ready = 0;
      const names = await db.forTenant({ organisationId }, (tx) =>
        tx.company.findMany({ select: { name: true, organisationId: true } }),
      );
      const oneUnit = ready;
      ready = 0;
      await db.forTenant({ organisationId }, () => Promise.resolve('no statement'));
      const emptyUnit = ready;
      // A single call outside a unit: the first on a plain pool learns that the pool cannot carry
      // the settings (one refused round trip), so it is counted from the second call on.
      const singleCall = () => runWithTenant({ organisationId }, async () => await db.client.company.count());
      await singleCall();
      ready = 0;
      const count = await singleCall();
      return { oneUnit, emptyUnit, singleCall: ready, count, names };
    } finally {
      await prisma.$disconnect();
      await prismaPool.end();
    }
  }

  it('takes 2 round trips (BEGIN + settings + query, COMMIT) instead of 4, and sees only its organisation', async () => {
    const pipelined = await roundTripsOf(createPrismaPool, orgA);
    const plain = await roundTripsOf((config) => new pg.Pool(config), orgA);
    expect(pipelined.oneUnit).toBe(2);
    expect(plain.oneUnit).toBe(4);
    expect(pipelined.emptyUnit).toBe(0);
    // A single call is one statement with the settings ahead of it: one round trip (a unit on a plain pool).
    expect(pipelined.singleCall).toBe(1);
    expect(plain.singleCall).toBe(4);
    expect(pipelined.count).toBe(pipelined.names.length);
    expect(plain.count).toBe(pipelined.names.length);
    expect(pipelined.names.length).toBeGreaterThan(0);
    expect(pipelined.names.every((c) => c.organisationId === orgA)).toBe(true);
    expect(pipelined.names).toEqual(plain.names);
  });
});
