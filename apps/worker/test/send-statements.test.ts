import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Param, SqlFunction } from '../src/outreach/send/sql-function.js';
import { RECORD_SENT, RESERVE_OUTBOUND_MESSAGE, SEND_STEP_STATE } from '../src/outreach/send/statements.js';
import { openTestDb, type TestDb } from './support/db.js';

// The send path's statements are generated from one typed parameter list each: this checks every
// list against the migrated catalogue, so a changed signature fails here, not in production.
describe('send statements match pg_proc', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb('send-statements');
  });
  afterAll(async () => {
    await t?.close();
  });

  async function signature(name: string) {
    const [schema, fn] = name.split('.');
    const { rows } = await t.admin.query<{
      args: string[];
      types: string[];
      modes: string[] | null;
      rettype: string;
    }>(
      `SELECT p.proargnames AS args,
              ARRAY(SELECT format_type(unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])), NULL)) AS types,
              p.proargmodes::text[] AS modes, format_type(p.prorettype, NULL) AS rettype
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = $1 AND p.proname = $2`,
      [schema, fn],
    );
    expect(rows, `${name}: exactly one overload`).toHaveLength(1);
    const row = rows[0]!;
    const modes = row.modes ?? row.args.map(() => 'i');
    const pick = (mode: string) =>
      row.args.flatMap((arg, i) => (modes[i] === mode ? [[arg, row.types[i]]] : []));
    return { inputs: pick('i'), outputs: pick('t').map(([name]) => name), rettype: row.rettype };
  }

  const fns = [SEND_STEP_STATE, RESERVE_OUTBOUND_MESSAGE, RECORD_SENT] as unknown as SqlFunction<
    readonly Param[]
  >[];
  it.each(fns.map((f) => [f.name, f] as const))('%s: parameter names, order and types', async (_name, fn) => {
    const { inputs, outputs, rettype } = await signature(fn.name);
    expect(inputs).toEqual(fn.params.map(([name, type]) => [`p_${name}`, type]));
    if ('table' in fn.returns) expect(outputs).toEqual([...fn.returns.table]);
    else expect(rettype).not.toBe('record');
  });

  it('the batched forms plan: every generated statement is valid SQL for the catalogue', async () => {
    const client = await t.admin.connect();
    try {
      for (const fn of fns) {
        await client.query(`PREPARE single AS ${fn.sql}`);
        await client.query(`PREPARE batch AS ${fn.batchSql}`);
        await client.query('DEALLOCATE ALL');
      }
    } finally {
      client.release();
    }
  });
});
