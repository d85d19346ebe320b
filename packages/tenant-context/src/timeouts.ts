/**
 * Statement and idle-in-transaction timeouts a pool's units of work apply inside their own
 * transaction (`set_config(…, true)`, sent with the tenant settings). Startup parameters such as
 * `statement_timeout` are refused by a stock pgBouncer (and silently dropped by one told to
 * ignore them), so a timeout that must hold behind any pooler travels in the transaction instead.
 */
export interface UnitTimeouts {
  /** `statement_timeout` in ms for every statement of the unit; 0 or absent = the server's value. */
  readonly statementTimeoutMs?: number;
  /** `idle_in_transaction_session_timeout` in ms while the unit's transaction waits on the app. */
  readonly idleInTransactionTimeoutMs?: number;
}

// Keyed by the pg pool (or any object a unit runs on); a pool that was never configured has none.
const timeoutsByPool = new WeakMap<object, UnitTimeouts>();

function checkMs(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a whole number of ms ≥ 0`);
}

/** Sets the timeouts every unit of work on `pool` applies inside its transaction. */
export function setUnitTimeouts(pool: object, timeouts: UnitTimeouts): void {
  checkMs('statementTimeoutMs', timeouts.statementTimeoutMs);
  checkMs('idleInTransactionTimeoutMs', timeouts.idleInTransactionTimeoutMs);
  timeoutsByPool.set(pool, { ...timeouts });
}

/** The timeouts configured for `pool`, if any. */
export function unitTimeouts(pool: object): UnitTimeouts | undefined {
  return timeoutsByPool.get(pool);
}

/** `, set_config(…)` items for the settings statement; '' when nothing is configured. */
export function timeoutsSql(timeouts: UnitTimeouts | undefined): string {
  if (!timeouts) return '';
  const items: string[] = [];
  // Values are checked integers, so inlining them is safe.
  if (timeouts.statementTimeoutMs)
    items.push(`set_config('statement_timeout', '${Math.trunc(timeouts.statementTimeoutMs)}', true)`);
  if (timeouts.idleInTransactionTimeoutMs)
    items.push(
      `set_config('idle_in_transaction_session_timeout', '${Math.trunc(timeouts.idleInTransactionTimeoutMs)}', true)`,
    );
  return items.map((item) => `, ${item}`).join('');
}
