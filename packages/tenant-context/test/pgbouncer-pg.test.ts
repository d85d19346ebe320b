import { ROLES, rolePassword } from '@prospectflow/db-schema';
import { type RunningPgBouncer, startPgBouncer } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isDbNoOrganisationError,
  NoTenantError,
  runWithTenant,
  tenantQuery,
  withTenantClient,
} from '../src/index.js';
import { adminQuery, createTenantFixture, type TenantFixture, watchPool } from './helpers.js';
import { runStress, type StressBackend, type StressOps } from './stress.js';

let fixture: TenantFixture;

beforeAll(async () => {
  fixture = await createTenantFixture('bouncer_pg', 50);
});

afterAll(async () => {
  await fixture?.drop();
});

type Run = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

function stressOps(run: Run): StressOps {
  return {
    async insert(name) {
      const { rows } = await run<{ id: string; organisation_id: string }>(
        'INSERT INTO crm.companies (name) VALUES ($1) RETURNING id, organisation_id',
        [name],
      );
      return { id: rows[0]!.id, organisationId: rows[0]!.organisation_id };
    },
    async recent() {
      const { rows } = await run<{ id: string; organisation_id: string; name: string }>(
        'SELECT id, organisation_id, name FROM crm.companies ORDER BY created_at DESC LIMIT 10',
      );
      return rows.map((r) => ({ id: r.id, organisationId: r.organisation_id, name: r.name }));
    },
    async byId(id) {
      const { rows } = await run<{ id: string; organisation_id: string }>(
        'SELECT id, organisation_id FROM crm.companies WHERE id = $1',
        [id],
      );
      return rows.map((r) => ({ id: r.id, organisationId: r.organisation_id }));
    },
    async rename(id, name) {
      const result = await run('UPDATE crm.companies SET description = $2 WHERE id = $1', [id, name]);
      return result.rowCount ?? 0;
    },
  };
}

/** Each unit is one withTenantClient transaction. */
function pgBackend(pool: pg.Pool): StressBackend {
  return {
    unit: (organisationId, body) =>
      runWithTenant({ organisationId }, () =>
        withTenantClient(pool, (client) => body(stressOps((text, values) => client.query(text, values)))),
      ),
  };
}

/** No unit at all: every operation is its own one-round-trip tenantQuery. */
function oneShotBackend(pool: pg.Pool): StressBackend {
  return {
    unit: (organisationId, body) =>
      runWithTenant({ organisationId }, () =>
        body(stressOps((text, values) => tenantQuery(pool, text, values))),
      ),
  };
}

async function checkStoredRows(): Promise<void> {
  const misplaced = await adminQuery<{ n: number }>(
    fixture.database.adminUrl,
    `SELECT count(*)::int AS n FROM crm.companies
     WHERE split_part(name, ':', 1) <> organisation_id::text
        OR (description IS NOT NULL AND split_part(description, ':', 1) <> organisation_id::text)`,
  );
  expect(misplaced[0]!.n).toBe(0);
}

const appPassword = () => rolePassword('app');
// Generous: CI machines are slow and shared; a healthy run takes seconds.
const STRESS_TIMEOUT_MS = 120_000;

describe('raw pg, direct to PostgreSQL', () => {
  it(
    '10,000 interleaved operations from 50 organisations never touch another organisation',
    async () => {
      const pool = new pg.Pool({
        connectionString: fixture.appUrl,
        max: 10,
        connectionTimeoutMillis: 10_000,
      });
      const report = await runStress(pgBackend(pool), fixture.organisations, { seed: 1 });
      await pool.end();
      expect(report.operations).toBe(10_000);
      expect(report.wrongRows).toEqual([]);
      await checkStoredRows();
    },
    STRESS_TIMEOUT_MS,
  );
});

describe.each([1, 5])('raw pg through pgBouncer (transaction mode, default_pool_size=%i)', (poolSize) => {
  let bouncer: RunningPgBouncer;
  let url: string;

  beforeAll(async () => {
    bouncer = await startPgBouncer({
      targetUrl: fixture.database.adminUrl,
      poolSize,
      poolMode: 'transaction',
      users: [{ user: ROLES.app, password: appPassword() }],
    });
    url = bouncer.url(ROLES.app, appPassword(), fixture.database.name);
  });

  afterAll(async () => {
    await bouncer?.stop();
  });

  it.each([
    ['withTenantClient units', pgBackend],
    ['one-shot tenantQuery', oneShotBackend],
  ])(
    '10,000 interleaved operations from 50 organisations never touch another organisation (%s)',
    async (_label, backend) => {
      const pool = new pg.Pool({ connectionString: url, max: 20, connectionTimeoutMillis: 20_000 });
      const report = await runStress(backend(pool), fixture.organisations, { seed: 100 + poolSize });
      await pool.end();
      expect(report.operations).toBe(10_000);
      expect(report.wrongRows).toEqual([]);
      await checkStoredRows();
      const admin = new pg.Client({ connectionString: bouncer.adminUrl() });
      await admin.connect();
      const servers = await admin.query<{ database: string }>('SHOW SERVERS');
      await admin.end();
      expect(servers.rows.filter((s) => s.database === fixture.database.name).length).toBeLessThanOrEqual(
        poolSize,
      );
    },
    STRESS_TIMEOUT_MS,
  );

  it('an error inside a unit releases its connection, and exhaustion times out clearly', async () => {
    const [orgA] = fixture.organisations as [string];
    const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 300 });
    await runWithTenant({ organisationId: orgA }, async () => {
      await expect(
        withTenantClient(pool, async (c) => {
          await c.query('SELECT 1');
          throw new Error('handler failed');
        }),
      ).rejects.toThrow('handler failed');
      expect(pool.totalCount).toBe(0);
      let letGo!: () => void;
      const held = new Promise<void>((resolve) => {
        letGo = resolve;
      });
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const holder = withTenantClient(pool, async () => {
        entered();
        await held;
      });
      await inside;
      await expect(withTenantClient(pool, (c) => c.query('SELECT 1'))).rejects.toMatchObject({
        code: 'tenant_pool_timeout',
      });
      letGo();
      await holder;
    });
    await pool.end();
  });
});

// With a single server connection the stray SET surely lands where the next unit runs.
describe('a stray session-level SET through pgBouncer (default_pool_size=1)', () => {
  let bouncer: RunningPgBouncer;
  let url: string;

  beforeAll(async () => {
    bouncer = await startPgBouncer({
      targetUrl: fixture.database.adminUrl,
      poolSize: 1,
      poolMode: 'transaction',
      users: [{ user: ROLES.app, password: appPassword() }],
    });
    url = bouncer.url(ROLES.app, appPassword(), fixture.database.name);
  });

  afterAll(async () => {
    await bouncer?.stop();
  });

  it('never reaches a unit of work, and the next unit scrubs it', async () => {
    const [orgA, orgB] = fixture.organisations as [string, string];
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    const pool = new pg.Pool({ connectionString: url, max: 3, connectionTimeoutMillis: 5000 });
    try {
      await runWithTenant({ organisationId: orgA }, () =>
        withTenantClient(pool, (c) =>
          c.query("INSERT INTO crm.companies (name) VALUES ($1 || ':stray-probe')", [orgA]),
        ),
      );
      await raw.query(`SET app.organisation_id = '${orgA}'`);
      // The hazard is real: outside the library the stray value opens organisation A to anyone.
      const leaked = await raw.query<{ n: number }>('SELECT count(*)::int AS n FROM crm.companies');
      expect(leaked.rows[0]!.n).toBeGreaterThan(0);

      const inB = await runWithTenant({ organisationId: orgB }, () =>
        withTenantClient(pool, async (c) => {
          const setting = await c.query<{ org: string }>(
            "SELECT current_setting('app.organisation_id') AS org",
          );
          const rows = await c.query<{ organisation_id: string }>(
            'SELECT DISTINCT organisation_id FROM crm.companies',
          );
          return { org: setting.rows[0]!.org, orgs: rows.rows.map((r) => r.organisation_id) };
        }),
      );
      expect(inB.org).toBe(orgB);
      expect(inB.orgs.every((o) => o === orgB)).toBe(true);

      // After that unit committed on the one server connection, the stray value is gone.
      const after = await raw.query<{ org: string | null }>(
        "SELECT current_setting('app.organisation_id', true) AS org",
      );
      expect(after.rows[0]!.org).toBe('');
      const refused = await raw.query('SELECT count(*) FROM crm.companies').catch((e: unknown) => e);
      expect(isDbNoOrganisationError(refused)).toBe(true);

      // A one-shot tenantQuery scrubs a stray value just the same.
      await raw.query(`SET app.organisation_id = '${orgA}'`);
      const oneShot = await runWithTenant({ organisationId: orgB }, async () => {
        await tenantQuery(pool, "INSERT INTO crm.companies (name) VALUES ($1 || ':one-shot')", [orgB]);
        return await tenantQuery<{ organisation_id: string }>(
          pool,
          'SELECT DISTINCT organisation_id FROM crm.companies',
        );
      });
      expect(oneShot.rows.map((r) => r.organisation_id)).toEqual([orgB]);
      const scrubbed = await raw.query('SELECT count(*) FROM crm.companies').catch((e: unknown) => e);
      expect(isDbNoOrganisationError(scrubbed)).toBe(true);

      // And a library call without an organisation never even borrows a connection.
      const watched = watchPool(pool);
      await expect(withTenantClient(pool, (c) => c.query('SELECT 1'))).rejects.toBeInstanceOf(NoTenantError);
      expect(watched.acquired()).toBe(0);
    } finally {
      await raw.end();
      await pool.end();
    }
  });
});
