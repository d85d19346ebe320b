import { describe, expect, it } from 'vitest';
import { migrate } from '../src/migrations.js';
import { ROLES, roleUrl } from '../src/roles.js';
import { migrationsBefore, query, scratchDatabase } from './support/scratch.js';

const RECHECKS = 20260101000997;

describe('migration 0997 (domain re-checks)', () => {
  it('moves verified_at to the last successful check, and leaves failed or unproved domains alone', async () => {
    const { adminUrl } = await scratchDatabase('rechecks');
    const migrator = roleUrl(adminUrl, ROLES.migrator);
    await migrate(migrator, { migrationsDir: migrationsBefore(RECHECKS) });
    const [org] = await query<{ id: string }>(
      adminUrl,
      `INSERT INTO iam.organisations (name, slug) VALUES ('Rechecks', 'rechecks') RETURNING id`,
    );
    await query(
      adminUrl,
      `INSERT INTO outreach.sending_domains (organisation_id, domain, proof_token, verified_at, last_checked_at, last_error,
         dkim_selector, dkim_public_key, dkim_ciphertext, dkim_wrapped_key, dkim_key_id)
       SELECT $1, d.domain, repeat('a', 32), d.verified_at::timestamptz, d.checked::timestamptz, d.error, 's1', 'p', '\\x00', '\\x00', 'k'
       FROM (VALUES ('confirmed.test', '2026-01-01Z', '2026-03-01Z', NULL),
                    ('failing.test', '2026-01-01Z', '2026-03-01Z', 'ESERVFAIL'),
                    ('never-checked.test', '2026-01-01Z', NULL, NULL),
                    ('unproved.test', NULL, '2026-03-01Z', NULL)) AS d(domain, verified_at, checked, error)`,
      [org!.id],
    );
    await migrate(migrator);
    const rows = await query<{ domain: string; verified_at: Date | null }>(
      adminUrl,
      'SELECT domain, verified_at FROM outreach.sending_domains ORDER BY domain',
    );
    expect(rows.map((r) => [r.domain, r.verified_at?.toISOString() ?? null])).toEqual([
      ['confirmed.test', '2026-03-01T00:00:00.000Z'],
      ['failing.test', '2026-01-01T00:00:00.000Z'],
      ['never-checked.test', '2026-01-01T00:00:00.000Z'],
      ['unproved.test', null],
    ]);
  });
});
