import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWithTenant, setUnitTimeouts, TimedPool, tenantQuery, withTenantClient } from '../src/index.js';
import { createTenantFixture, type TenantFixture } from './helpers.js';

let fixture: TenantFixture;
let pool: pg.Pool;

beforeAll(async () => {
  fixture = await createTenantFixture('unit_timeouts', 1);
  pool = new pg.Pool({ connectionString: fixture.appUrl, max: 2 });
  setUnitTimeouts(pool, { statementTimeoutMs: 250, idleInTransactionTimeoutMs: 5000 });
});
afterAll(async () => {
  await pool?.end();
  await fixture?.drop();
});

const tenant = <T>(fn: () => Promise<T>) => runWithTenant({ organisationId: fixture.organisations[0]! }, fn);

describe('setUnitTimeouts', () => {
  it('refuses values that are not whole milliseconds', () => {
    expect(() => setUnitTimeouts({}, { statementTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => setUnitTimeouts({}, { idleInTransactionTimeoutMs: 1.5 })).toThrow(RangeError);
  });

  it('sets both timeouts inside a unit, for that transaction only', async () => {
    const inside = await tenant(() =>
      withTenantClient(pool, async (client) => {
        const a = await client.query('SHOW statement_timeout');
        const b = await client.query('SHOW idle_in_transaction_session_timeout');
        return [a.rows[0]!.statement_timeout, b.rows[0]!.idle_in_transaction_session_timeout];
      }),
    );
    expect(inside).toEqual(['250ms', '5s']);
    const outside = await pool.query('SHOW statement_timeout');
    expect(outside.rows[0].statement_timeout).toBe('0');
  });

  it('cancels an over-long statement in a unit and in a one-shot tenantQuery', async () => {
    await expect(
      tenant(() => withTenantClient(pool, (client) => client.query('SELECT pg_sleep(3)'))),
    ).rejects.toMatchObject({ code: '57014' });
    await expect(tenant(() => tenantQuery(pool, 'SELECT pg_sleep(3)'))).rejects.toMatchObject({
      code: '57014',
    });
  });
});

describe('TimedPool', () => {
  let timed: TimedPool;
  beforeAll(() => {
    timed = new TimedPool({ connectionString: fixture.appUrl, max: 2 }, { statementTimeoutMs: 250 });
  });
  afterAll(async () => {
    await timed?.end();
  });

  it('bounds a plain pool.query (outside any unit) with the same timeout, for that statement only', async () => {
    expect((await timed.query('SHOW statement_timeout')).rows[0]).toEqual({ statement_timeout: '250ms' });
    const started = Date.now();
    await expect(timed.query('SELECT pg_sleep(3)')).rejects.toMatchObject({ code: '57014' });
    expect(Date.now() - started).toBeLessThan(2500);
    // Parameters, query configs and results as with pg.Pool; the connection went back usable.
    const { rows } = await timed.query<{ n: number }>({ text: 'SELECT $1::int AS n', values: [7] });
    expect(rows).toEqual([{ n: 7 }]);
    expect((await timed.query('SELECT $1::text AS t', ['x'])).rows).toEqual([{ t: 'x' }]);
    const connection = await timed.connect();
    try {
      expect((await connection.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('0');
    } finally {
      connection.release();
    }
  });

  it('units on it apply the timeouts as with setUnitTimeouts', async () => {
    await expect(
      tenant(() => withTenantClient(timed, (client) => client.query('SELECT pg_sleep(3)'))),
    ).rejects.toMatchObject({ code: '57014' });
  });
});
