import { describe, expect, it } from 'vitest';
import { migrate, undoLastMigration } from '../src/migrations.js';
import { ROLES, roleUrl } from '../src/roles.js';
import { migrationsBefore, query, scratchDatabase } from './support/scratch.js';

const POLL_ERRORS = 20260101001001;

describe('migration 1001 (mailboxes in error are polled)', () => {
  it('app.mailboxes_to_poll() returns verified connected mailboxes in error too; undo leaves them out again', async () => {
    const { adminUrl } = await scratchDatabase('poll_errors');
    const migrator = roleUrl(adminUrl, ROLES.migrator);
    // Up to 1001 only: the undo below is this migration's, whatever lands after it.
    const upTo = { migrationsDir: migrationsBefore(POLL_ERRORS + 1) };
    await migrate(migrator, { migrationsDir: migrationsBefore(POLL_ERRORS) });
    const [org] = await query<{ id: string }>(
      adminUrl,
      `INSERT INTO iam.organisations (name, slug) VALUES ('Poll', 'poll') RETURNING id`,
    );
    await query(
      adminUrl,
      `INSERT INTO outreach.mailboxes (organisation_id, from_name, from_address, provider, status, verification_status,
         smtp_host, smtp_port, smtp_security, smtp_user, imap_host, imap_port, imap_security, imap_user,
         secret_ciphertext, secret_wrapped_key, secret_key_id, verified_at)
       SELECT $1, 'Sales', b.local || '@poll.test', b.provider, b.status, b.verification,
         h, 465, 'tls', 'u', h, 993, 'tls', 'u', k, k, CASE WHEN k IS NOT NULL THEN 'test' END,
         CASE WHEN b.verification = 'verified' THEN now() END
       FROM (VALUES ('active', 'smtp_imap', 'active', 'verified'), ('paused', 'smtp_imap', 'paused', 'verified'),
                    ('error', 'smtp_imap', 'error', 'verified'), ('disabled', 'smtp_imap', 'disabled', 'verified'),
                    ('error-unverified', 'smtp_imap', 'error', 'failed'), ('relay', 'relay', 'active', 'verified'))
         AS b(local, provider, status, verification)
       CROSS JOIN LATERAL (SELECT CASE WHEN b.provider = 'relay' THEN NULL ELSE 'mail.poll.test' END AS h,
         CASE WHEN b.provider = 'relay' THEN NULL ELSE '\\x00'::bytea END AS k) c`,
      [org!.id],
    );
    // Called as the worker (its grant), named through the admin connection (RLS hides the rows from it).
    const polled = async () => {
      const ids = await query<{ id: string }>(
        roleUrl(adminUrl, ROLES.worker),
        'SELECT id FROM app.mailboxes_to_poll()',
      );
      const rows = await query<{ from_address: string }>(
        adminUrl,
        'SELECT from_address::text FROM outreach.mailboxes WHERE id = ANY ($1::uuid[]) ORDER BY 1',
        [ids.map((r) => r.id)],
      );
      return rows.map((r) => r.from_address);
    };
    expect(await polled()).toEqual(['active@poll.test', 'paused@poll.test']);
    await migrate(migrator, upTo);
    expect(await polled()).toEqual(['active@poll.test', 'error@poll.test', 'paused@poll.test']);
    await undoLastMigration(migrator, upTo);
    expect(await polled()).toEqual(['active@poll.test', 'paused@poll.test']);
  });
});
