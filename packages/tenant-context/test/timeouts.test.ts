import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWithTenant, setUnitTimeouts, tenantQuery, withTenantClient } from '../src/index.js';
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
