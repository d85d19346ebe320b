import { describe, expect, it } from 'vitest';
import { type RetentionPolicy, retentionRules } from '../src/index.js';

const policy: RetentionPolicy = {
  people_retention_days: 1095,
  open_events_retention_months: 13,
  finished_tasks_retention_days: 30,
  import_error_values_retention_days: 90,
  audit_retention_days: 365,
};
const cutoff = (now: string, months = 13) =>
  retentionRules({ ...policy, open_events_retention_months: months }, new Date(now))
    .find((rule) => rule.name === 'open_events')!
    .cutoff.toISOString();

describe('retention cutoffs in months (open events)', () => {
  it.each([
    // A month shorter than today's date: its last day, as PostgreSQL's `- interval '13 months'`.
    ['2026-03-31T12:00:00.000Z', 13, '2025-02-28T12:00:00.000Z'],
    ['2028-03-31T12:00:00.000Z', 1, '2028-02-29T12:00:00.000Z'],
    ['2026-05-31T08:30:00.000Z', 1, '2026-04-30T08:30:00.000Z'],
    ['2026-12-31T23:59:59.000Z', 10, '2026-02-28T23:59:59.000Z'],
    // Otherwise the same day n months earlier.
    ['2026-03-15T12:00:00.000Z', 13, '2025-02-15T12:00:00.000Z'],
    ['2026-01-31T00:00:00.000Z', 12, '2025-01-31T00:00:00.000Z'],
  ])(
    '%s minus %i months → %s (never later: a row inside retention is never due)',
    (now, months, expected) => {
      expect(cutoff(now, months)).toBe(expected);
    },
  );
});
