/**
 * The set-based part of an import, run inside the import's transaction after COPY has filled the
 * stage table with normalised, checked rows (staging.ts: field rules applied in TypeScript while
 * the file is read): record the rows' errors → match companies and positions → skip
 * suppressed/duplicate rows → upsert → seal the ledger; then counts and per-row errors.
 */
import { ACCEPTED, CANDIDATES, COMPANIES, DB_ERRORS, ERRORS, POSITIONS_MATCH, SKIPS } from './match-sql.js';
import { SEAL_LEDGER_SQL } from './undo.js';
import {
  INSERT_COMPANIES,
  INSERT_PEOPLE,
  INSERT_POSITIONS,
  UPDATE_COMPANIES,
  UPDATE_PEOPLE,
  UPDATE_POSITIONS,
} from './write-sql.js';

/** Codes that mean "skipped on purpose" rather than "failed". */
export const SKIP_CODES = ['suppressed', 'duplicate_in_file'] as const;

export const PIPELINE: ReadonlyArray<readonly [name: string, sql: string]> = [
  ['validate', ERRORS],
  ['candidates', CANDIDATES],
  ['match_companies', COMPANIES],
  ['match_positions', POSITIONS_MATCH],
  ['validate_against_existing', DB_ERRORS],
  ['skip_suppressed_and_duplicates', SKIPS],
  ['accepted', ACCEPTED],
  ['update_companies', UPDATE_COMPANIES],
  ['insert_companies', INSERT_COMPANIES],
  ['update_people', UPDATE_PEOPLE],
  ['insert_people', INSERT_PEOPLE],
  ['update_positions', UPDATE_POSITIONS],
  ['insert_positions', INSERT_POSITIONS],
  // The import ledger (migration 0962, undo.ts): hash of every row this transaction left.
  ['seal_ledger', SEAL_LEDGER_SQL],
];

/** Row counts: $1 rows read from the source. `inserted` = rows whose position (or, without email, company) is new. */
export const COUNTS_SQL = `
SELECT
  $1::int AS total,
  (SELECT count(*) FILTER (WHERE (email IS NOT NULL AND position_id IS NULL) OR (email IS NULL AND company_existing_id IS NULL))
     FROM pf_import_accepted)::int AS inserted,
  (SELECT count(*) FILTER (WHERE NOT ((email IS NOT NULL AND position_id IS NULL) OR (email IS NULL AND company_existing_id IS NULL)))
     FROM pf_import_accepted)::int AS updated,
  (SELECT count(DISTINCT row_number) FROM pf_import_errs WHERE code IN ('suppressed', 'duplicate_in_file'))::int AS skipped,
  (SELECT count(DISTINCT row_number) FROM pf_import_errs WHERE code NOT IN ('suppressed', 'duplicate_in_file'))::int AS failed`;

/** $1 import id, $2 jsonb field → source header. */
export const SAVE_ERRORS_SQL = `
INSERT INTO crm.import_errors (import_id, row_number, column_name, code, message, raw_value)
SELECT $1, greatest(row_number, 1), coalesce($2::jsonb ->> field, field), code, message, raw
  FROM pf_import_errs ORDER BY row_number`;
