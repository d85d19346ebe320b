import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidTenantError,
  isDbNoOrganisationError,
  lockOrganisation,
  NoTenantError,
  PoolTimeoutError,
  runWithTenant,
  type TenantClient,
  TenantMismatchError,
  TransactionAbortedError,
  UnsafeQueryError,
  withTenant,
  withTenantClient,
} from '../src/index.js';
import { adminQuery, createTenantFixture, type TenantFixture, watchPool } from './helpers.js';

let fixture: TenantFixture;
let pool: pg.Pool;
let orgA: string;
let orgB: string;

beforeAll(async () => {
  fixture = await createTenantFixture('pg', 2);
  [orgA, orgB] = fixture.organisations as [string, string];
  pool = new pg.Pool({ connectionString: fixture.appUrl, max: 4, connectionTimeoutMillis: 5000 });
});

afterAll(async () => {
  await pool?.end();
  await fixture?.drop();
});

const companyNames = (client: TenantClient) =>
  client
    .query<{ name: string }>('SELECT name FROM crm.companies ORDER BY name')
    .then((r) => r.rows.map((row) => row.name));

async function adminCompanies(organisationId: string): Promise<string[]> {
  const rows = await adminQuery<{ name: string }>(
    fixture.database.adminUrl,
    'SELECT name FROM crm.companies WHERE organisation_id = $1 ORDER BY name',
    [organisationId],
  );
  return rows.map((r) => r.name);
}

describe('withTenantClient (raw pg)', () => {
  it('refuses without an organisation before the pool hands out a connection', async () => {
    const lonely = new pg.Pool({ connectionString: fixture.appUrl, max: 1 });
    const watched = watchPool(lonely);
    await expect(withTenantClient(lonely, async (c) => c.query('SELECT 1'))).rejects.toBeInstanceOf(
      NoTenantError,
    );
    await expect(withTenantClient(lonely, async (c) => c.query('SELECT 1'))).rejects.toMatchObject({
      code: 'no_tenant',
    });
    expect(watched.acquired()).toBe(0);
    expect(watched.connected()).toBe(0);
    expect(lonely.totalCount).toBe(0);
    await lonely.end();
  });

  it('and the database refuses too: a bare query on a tenant table raises PF001', async () => {
    const error = await pool.query('SELECT count(*) FROM crm.companies').catch((e: unknown) => e);
    expect(isDbNoOrganisationError(error)).toBe(true);
    expect((error as { code: string }).code).toBe('PF001');
  });

  it('validates ids as uuids', () => {
    expect(() => runWithTenant({ organisationId: 'acme' }, () => 1)).toThrow(InvalidTenantError);
    expect(() => runWithTenant({ organisationId: "x'; DROP TABLE crm.companies; --" }, () => 1)).toThrow(
      InvalidTenantError,
    );
    expect(() => runWithTenant({ organisationId: randomUUID(), userId: 'bob' }, () => 1)).toThrow(
      /userId must be a uuid/,
    );
    const upper = randomUUID().toUpperCase();
    expect(runWithTenant({ organisationId: upper }, () => 'ok')).toBe('ok');
  });

  it('sets organisation and user for the transaction only, and scopes reads and writes', async () => {
    const userId = randomUUID();
    const seen = await runWithTenant({ organisationId: orgA, userId }, () =>
      withTenantClient(pool, async (client) => {
        await client.query("INSERT INTO crm.companies (name) VALUES ('a-1')");
        const { rows } = await client.query<{ org: string; user: string }>(
          "SELECT current_setting('app.organisation_id') AS org, current_setting('app.user_id') AS user",
        );
        return { settings: rows[0], names: await companyNames(client) };
      }),
    );
    expect(seen.settings).toEqual({ org: orgA, user: userId });
    expect(seen.names).toEqual(['a-1']);
    const fromB = await runWithTenant({ organisationId: orgB }, () => withTenantClient(pool, companyNames));
    expect(fromB).toEqual([]);
    expect(await adminCompanies(orgA)).toEqual(['a-1']);
  });

  it('withTenant names the organisation itself and refuses another one inside a tenant context', async () => {
    const userId = randomUUID();
    const seen = await withTenant(pool, { organisationId: orgB, userId }, async (client) => {
      const { rows } = await client.query<{ org: string; user: string }>(
        "SELECT current_setting('app.organisation_id') AS org, current_setting('app.user_id') AS user",
      );
      return rows[0];
    });
    expect(seen).toEqual({ org: orgB, user: userId });
    await expect(
      runWithTenant({ organisationId: orgA }, () =>
        withTenant(pool, { organisationId: orgB }, async (client) => client.query('SELECT 1')),
      ),
    ).rejects.toBeInstanceOf(TenantMismatchError);
    await expect(withTenant(pool, { organisationId: 'acme' }, async () => 1)).rejects.toBeInstanceOf(
      InvalidTenantError,
    );
  });

  it('rolls back everything when the unit fails, and releases (destroys) the connection', async () => {
    const small = new pg.Pool({ connectionString: fixture.appUrl, max: 1, connectionTimeoutMillis: 2000 });
    const failing = runWithTenant({ organisationId: orgB }, () =>
      withTenantClient(small, async (client) => {
        await client.query("INSERT INTO crm.companies (name) VALUES ('b-rolled-back')");
        throw new Error('boom');
      }),
    );
    await expect(failing).rejects.toThrow('boom');
    expect(small.totalCount).toBe(0);
    // The single slot is free again: the next unit gets a connection at once.
    const names = await runWithTenant({ organisationId: orgB }, () => withTenantClient(small, companyNames));
    expect(names).not.toContain('b-rolled-back');
    expect(await adminCompanies(orgB)).not.toContain('b-rolled-back');
    await small.end();
  });

  it('turns same-organisation nesting into savepoints', async () => {
    const names = await runWithTenant({ organisationId: orgB }, () =>
      withTenantClient(pool, async (outer) => {
        await outer.query("INSERT INTO crm.companies (name) VALUES ('b-outer')");
        await withTenantClient(pool, async (inner) => {
          await inner.query("INSERT INTO crm.companies (name) VALUES ('b-inner-kept')");
        });
        await withTenantClient(pool, async (inner) => {
          await inner.query("INSERT INTO crm.companies (name) VALUES ('b-inner-undone')");
          throw new Error('inner fails');
        }).catch(() => {});
        // Siblings started together run one after the other on the one connection.
        await Promise.all(
          ['b-sib-1', 'b-sib-2', 'b-sib-3'].map((name) =>
            withTenantClient(pool, async (c) => {
              await c.query('INSERT INTO crm.companies (name) VALUES ($1)', [name]);
            }),
          ),
        );
        return companyNames(outer);
      }),
    );
    expect(names).toEqual(['b-inner-kept', 'b-outer', 'b-sib-1', 'b-sib-2', 'b-sib-3']);
    expect(await adminCompanies(orgB)).toEqual(['b-inner-kept', 'b-outer', 'b-sib-1', 'b-sib-2', 'b-sib-3']);
  });

  it("keeps the unit's own statements out of a nested unit's savepoint, unless issued from inside it", async () => {
    const prefix = `b-beside-${randomUUID().slice(0, 8)}`;
    const outcome = await runWithTenant({ organisationId: orgB }, () =>
      withTenantClient(pool, async (outer) => {
        await outer.query('SELECT 1');
        const beside = await Promise.allSettled([
          withTenantClient(pool, async (inner) => {
            await inner.query('INSERT INTO crm.companies (name) VALUES ($1)', [`${prefix}-inner-undone`]);
            await new Promise((resolve) => setTimeout(resolve, 50));
            // The outer client used from inside the nested unit belongs to it (and is undone with it).
            await outer.query('INSERT INTO crm.companies (name) VALUES ($1)', [`${prefix}-via-outer-undone`]);
            throw new Error('inner fails');
          }),
          // Sent beside the nested unit, while its savepoint is open: reported done, so it must stay.
          new Promise((resolve) => setTimeout(resolve, 10)).then(() =>
            outer.query('INSERT INTO crm.companies (name) VALUES ($1)', [`${prefix}-outer-kept`]),
          ),
        ]);
        return beside.map((r) => r.status);
      }),
    );
    expect(outcome).toEqual(['rejected', 'fulfilled']);
    expect((await adminCompanies(orgB)).filter((n) => n.startsWith(prefix))).toEqual([
      `${prefix}-outer-kept`,
    ]);
  });

  it('refuses to nest another organisation', async () => {
    const attempt = runWithTenant({ organisationId: orgA }, () =>
      withTenantClient(pool, async (client) => {
        await client.query("INSERT INTO crm.companies (name) VALUES ('a-never')");
        return runWithTenant({ organisationId: orgB }, () => withTenantClient(pool, companyNames));
      }),
    );
    await expect(attempt).rejects.toBeInstanceOf(TenantMismatchError);
    expect(await adminCompanies(orgA)).not.toContain('a-never');
  });

  it('guards the client: no transaction control, no named statements, no callbacks, no use after the end', async () => {
    let leaked: TenantClient | undefined;
    await runWithTenant({ organisationId: orgA }, () =>
      withTenantClient(pool, async (client) => {
        leaked = client;
        await expect(client.query('COMMIT')).rejects.toBeInstanceOf(UnsafeQueryError);
        await expect(client.query('  rollback')).rejects.toBeInstanceOf(UnsafeQueryError);
        await expect(client.query({ name: 'stmt', text: 'SELECT 1' })).rejects.toBeInstanceOf(
          UnsafeQueryError,
        );
        const callbackStyle = (client.query as unknown as (t: string, cb: () => void) => Promise<unknown>)(
          'SELECT 1',
          () => {},
        );
        await expect(callbackStyle).rejects.toBeInstanceOf(UnsafeQueryError);
      }),
    );
    await expect(leaked!.query('SELECT 1')).rejects.toThrow(/unit of work that has ended/);
  });

  it('runs streams (Submittables such as COPY or cursors) on the unit connection, inside its transaction', async () => {
    const rows = await runWithTenant({ organisationId: orgB }, () =>
      withTenantClient(pool, async (client) => {
        const stream = client.query(new pg.Query("SELECT current_setting('app.organisation_id') AS org"));
        return await new Promise<unknown[]>((resolve, reject) => {
          const seen: unknown[] = [];
          stream.on('row', (row: unknown) => seen.push(row));
          stream.on('end', () => resolve(seen));
          stream.on('error', reject);
        });
      }),
    );
    expect(rows).toEqual([{ org: orgB }]);
    let leaked: TenantClient | undefined;
    await runWithTenant({ organisationId: orgB }, () =>
      withTenantClient(pool, async (client) => {
        leaked = client;
      }),
    );
    expect(() => leaked!.query(new pg.Query('SELECT 1'))).toThrow(UnsafeQueryError);
  });

  it('opens an independent unit on request: it commits even when the surrounding unit rolls back', async () => {
    const attempt = runWithTenant({ organisationId: orgA }, () =>
      withTenantClient(pool, async (outer) => {
        await outer.query("INSERT INTO crm.companies (name) VALUES ('a-outer-undone')");
        await withTenantClient(
          pool,
          (progress) => progress.query("INSERT INTO crm.companies (name) VALUES ('a-progress-kept')"),
          { independent: true },
        );
        throw new Error('import failed');
      }),
    );
    await expect(attempt).rejects.toThrow('import failed');
    const names = await adminCompanies(orgA);
    expect(names).toContain('a-progress-kept');
    expect(names).not.toContain('a-outer-undone');
    const otherOrg = runWithTenant({ organisationId: orgA }, () =>
      withTenantClient(pool, () =>
        runWithTenant({ organisationId: orgB }, () =>
          withTenantClient(pool, companyNames, { independent: true }),
        ),
      ),
    );
    await expect(otherOrg).rejects.toBeInstanceOf(TenantMismatchError);
  });

  it('reports a transaction aborted by a swallowed error instead of pretending to commit', async () => {
    const attempt = runWithTenant({ organisationId: orgA }, () =>
      withTenantClient(pool, async (client) => {
        await client.query("INSERT INTO crm.companies (name) VALUES ('a-lost')");
        await client.query('SELECT 1/0').catch(() => {});
      }),
    );
    await expect(attempt).rejects.toBeInstanceOf(TransactionAbortedError);
    expect(await adminCompanies(orgA)).not.toContain('a-lost');
  });

  it('gives a clear timeout error when the pool is exhausted (pool-level timeout)', async () => {
    const small = new pg.Pool({ connectionString: fixture.appUrl, max: 1, connectionTimeoutMillis: 300 });
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    await runWithTenant({ organisationId: orgA }, async () => {
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const holder = withTenantClient(small, async () => {
        entered();
        await held;
      });
      await inside;
      const waiting = await withTenantClient(small, companyNames).catch((e: unknown) => e);
      expect(waiting).toBeInstanceOf(PoolTimeoutError);
      expect((waiting as PoolTimeoutError).code).toBe('tenant_pool_timeout');
      expect((waiting as Error).message).toMatch(/within 300 ms/);
      letGo();
      await holder;
    });
    await small.end();
  });

  it('applies its own acquire timeout when the pool has none, and hands back the late connection', async () => {
    const small = new pg.Pool({ connectionString: fixture.appUrl, max: 1 });
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    await runWithTenant({ organisationId: orgA }, async () => {
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const holder = withTenantClient(small, async () => {
        entered();
        await held;
      });
      await inside;
      const waiting = await withTenantClient(small, companyNames, { acquireTimeoutMs: 200 }).catch(
        (e: unknown) => e,
      );
      expect(waiting).toBeInstanceOf(PoolTimeoutError);
      letGo();
      await holder;
      // The abandoned request got the connection afterwards and returned it: the pool still works.
      expect(await withTenantClient(small, async (c) => (await c.query('SELECT 1 AS one')).rows[0])).toEqual({
        one: 1,
      });
    });
    await small.end();
  });
});

describe('lockOrganisation', () => {
  it("serialises one organisation's units that take it, not another organisation's", async () => {
    const order: string[] = [];
    let holding!: () => void;
    const held = new Promise<void>((resolve) => {
      holding = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = withTenant(pool, { organisationId: orgA }, async (client) => {
      await lockOrganisation(client, 'test-purpose');
      holding();
      await released;
      order.push('A first');
    });
    await held;
    // Another organisation's unit takes its own lock at once.
    await withTenant(pool, { organisationId: orgB }, async (client) => {
      await lockOrganisation(client, 'test-purpose');
      order.push('B');
    });
    const second = withTenant(pool, { organisationId: orgA }, async (client) => {
      await lockOrganisation(client, 'test-purpose');
      order.push('A second');
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(order).toEqual(['B']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['B', 'A first', 'A second']);
  });
});
