import { runAsSystem, runWithTenant, tenantQuery } from '@prospectflow/tenant-context';
import type { Pool, QueryResultRow } from 'pg';
import { quietSystemScope } from '../../logger.js';
import { KeyedBatcher } from '../../queue/batcher.js';
import type { ArgsOf, Param, SqlFunction } from './sql-function.js';
import {
  RECORD_SENT,
  RESERVE_OUTBOUND_MESSAGE,
  type RecordArgs,
  type ReserveArgs,
  type ReserveResult,
  SEND_STEP_STATE,
  type SendStateRow,
  type StateArgs,
} from './statements.js';

/**
 * The fast path's statements, group-committed (KeyedBatcher): every call that arrives while the
 * previous statement is on the wire goes out in the next one — one round trip, one implicit
 * transaction. The state reads (started at claim), the reservations and the sent-recordings are
 * batched across organisations, through the functions of migrations 0890 and 0971, which run each
 * call under its own organisation (a failed batch is retried call by call, so one organisation's
 * failure is its own).
 */
export interface Batchers {
  state: KeyedBatcher<Omit<StateArgs, 'lock'> & { organisation: string }, SendStateRow | undefined>;
  reserve: KeyedBatcher<ReserveArgs & { organisation: string }, ReserveResult>;
  record: KeyedBatcher<RecordArgs, number>;
}
/** The key of batches that mix organisations. */
export const ALL = 'all';

const batchersByPool = new WeakMap<Pool, Batchers>();

/** Runs calls of one organisation: a batch of one with plain parameters (cheaper to plan), more through the batched form. */
function perOrganisation<P extends readonly Param[], R extends QueryResultRow>(
  pool: Pool,
  fn: SqlFunction<P>,
) {
  return async (organisationId: string, items: ArgsOf<P>[]): Promise<(R | undefined)[]> => {
    if (items.length === 1) {
      const { rows } = await runWithTenant({ organisationId }, () =>
        tenantQuery<R>(pool, fn.sql, fn.values(items[0]!)),
      );
      return [rows[0]];
    }
    const { rows } = await runWithTenant({ organisationId }, () =>
      tenantQuery<R & { batch_index: number }>(pool, fn.batchSql, [
        JSON.stringify(items.map((item, i) => ({ ...item, i }))),
      ]),
    );
    return byIndex(rows, items.length);
  };
}

/**
 * Runs calls of any organisations: `batchFunction` (jsonb of calls, each with its `organisation`)
 * sets each call's organisation before running it; a batch of one is the organisation's plain call.
 */
function acrossOrganisations<A extends { organisation: string }, R extends QueryResultRow>(
  pool: Pool,
  batchFunction: string,
  one: (organisationId: string, item: A) => Promise<R | undefined>,
) {
  return async (items: A[]): Promise<(R | undefined)[]> => {
    if (items.length === 1) return [await one(items[0]!.organisation, items[0]!)];
    const rows = await runAsSystem(
      'outreach send batch (each call under its own organisation)',
      async () =>
        (
          await pool.query<R & { batch_index: number }>(`SELECT * FROM ${batchFunction}($1::jsonb)`, [
            JSON.stringify(items.map((item, i) => ({ ...item, i }))),
          ])
        ).rows,
      quietSystemScope,
    );
    return byIndex(rows, items.length);
  };
}

function byIndex<R>(rows: (R & { batch_index: number })[], n: number): (R | undefined)[] {
  const out: (R | undefined)[] = new Array(n).fill(undefined);
  for (const row of rows) out[row.batch_index] = row;
  return out;
}

export function batchers(pool: Pool): Batchers {
  let b = batchersByPool.get(pool);
  if (b) return b;
  const stateOf = perOrganisation<typeof SEND_STEP_STATE.params, SendStateRow>(pool, SEND_STEP_STATE);
  const state = acrossOrganisations<Omit<StateArgs, 'lock'> & { organisation: string }, SendStateRow>(
    pool,
    'app.send_step_states',
    async (org, { enrollment, step }) => (await stateOf(org, [{ enrollment, step, lock: false }]))[0],
  );
  const reserveOf = perOrganisation<typeof RESERVE_OUTBOUND_MESSAGE.params, ReserveResult>(
    pool,
    RESERVE_OUTBOUND_MESSAGE,
  );
  const reserve = acrossOrganisations<ReserveArgs & { organisation: string }, ReserveResult>(
    pool,
    'app.reserve_outbound_messages',
    async (org, { organisation: _, ...item }) => (await reserveOf(org, [item]))[0],
  );
  const recordOf = perOrganisation<typeof RECORD_SENT.params, { completed: number }>(pool, RECORD_SENT);
  const record = acrossOrganisations<RecordArgs, { completed: number }>(
    pool,
    'app.record_sents',
    async (org, item) => (await recordOf(org, [item]))[0],
  );
  b = {
    state: new KeyedBatcher(async (_all, items) =>
      (await state(items)).map((row) => (row?.id ? row : undefined)),
    ),
    reserve: new KeyedBatcher(async (_all, items) =>
      (await reserve(items)).map((row) => {
        if (!row) throw new Error('reservation returned no row');
        return row;
      }),
    ),
    record: new KeyedBatcher(async (_all, items) => (await record(items)).map((row) => row?.completed ?? 0)),
  };
  batchersByPool.set(pool, b);
  return b;
}
