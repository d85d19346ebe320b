import { timeoutsSql, type UnitTimeouts } from './timeouts.js';
import { isUuid } from './uuid.js';

/** What a unit of work tells the database: an organisation (or none, on the system path) and a user. */
export interface UnitSettings {
  /** '' on the system path: the database then refuses every tenant table (PF001). */
  readonly organisationId: string;
  readonly userId: string;
  /** Applied inside the transaction too (see timeouts.ts): they survive any pooler. */
  readonly timeouts?: UnitTimeouts;
}

function literal(value: string): string {
  // Only '' or a canonical uuid ever reaches here; both are safe as a quoted literal.
  if (value !== '' && !isUuid(value)) throw new Error(`refusing to inline ${JSON.stringify(value)} into SQL`);
  return `'${value}'`;
}

/**
 * One statement that (1) scrubs any session-level value a stray `SET app.organisation_id` left on
 * this server connection — the session value becomes '' at COMMIT, which the database treats as
 * missing — and (2) sets this transaction's own values. Target-list items are evaluated in order,
 * so the transaction-local value is the one in force for the rest of the transaction.
 */
export const SETTINGS_SQL_PARAMETERISED =
  "SELECT set_config('app.organisation_id', '', false), set_config('app.organisation_id', $1, true), " +
  "set_config('app.user_id', '', false), set_config('app.user_id', $2, true)";

/** SETTINGS_SQL_PARAMETERISED with the values inlined (validated uuids), for pipelined preludes. */
export function settingsSql(settings: UnitSettings): string {
  const organisation = literal(settings.organisationId);
  const user = literal(settings.userId);
  return (
    `SELECT set_config('app.organisation_id', '', false), set_config('app.organisation_id', ${organisation}, true), ` +
    `set_config('app.user_id', '', false), set_config('app.user_id', ${user}, true)` +
    timeoutsSql(settings.timeouts)
  );
}

/** What opens a unit's transaction: BEGIN, then the settings (sent with the unit's first statement). */
export function unitPrelude(settings: UnitSettings): readonly string[] {
  return ['BEGIN', settingsSql(settings)];
}
