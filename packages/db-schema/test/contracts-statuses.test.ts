import {
  CAMPAIGN_STATUSES,
  ENROLLMENT_STATUSES,
  IMPORT_STATUSES,
  INVITATION_STATUSES,
  MAILBOX_STATUSES,
  MEMBERSHIP_STATUSES,
  MESSAGE_STATUSES,
  ORGANISATION_STATUSES,
  TASK_STATUSES,
} from '@prospectflow/contracts';
import { createTestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { expect, it } from 'vitest';

/** Each status list of @prospectflow/contracts and the column whose CHECK constraint it mirrors. */
const MIRRORED: [column: string, values: readonly string[]][] = [
  ['iam.organisations.status', ORGANISATION_STATUSES],
  ['iam.organisation_users.status', MEMBERSHIP_STATUSES],
  ['outreach.mailboxes.status', MAILBOX_STATUSES],
  ['outreach.campaigns.status', CAMPAIGN_STATUSES],
  ['outreach.campaign_enrollments.status', ENROLLMENT_STATUSES],
  ['outreach.messages.status', MESSAGE_STATUSES],
  ['outreach.tasks.status', TASK_STATUSES],
  ['crm.imports.status', IMPORT_STATUSES],
  // `expired` is not stored: a pending invitation past expires_at.
  ['iam.organisation_invitations.status', INVITATION_STATUSES.filter((status) => status !== 'expired')],
];

it('the status lists of @prospectflow/contracts equal the CHECK constraints of the migrated schema', async () => {
  const db = await createTestDatabase('contracts_statuses');
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  try {
    for (const [column, values] of MIRRORED) {
      const [schema, table, name] = column.split('.');
      // Single-column CHECK constraints on the column; PostgreSQL prints `IN (…)` as `= ANY (ARRAY[…])`.
      const { rows } = await client.query<{ definition: string }>(
        `SELECT pg_get_constraintdef(c.oid) AS definition
           FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ALL (c.conkey)
          WHERE c.contype = 'c' AND c.conrelid = format('%I.%I', $1::text, $2::text)::regclass
            AND a.attname = $3 AND cardinality(c.conkey) = 1`,
        [schema, table, name],
      );
      expect(rows, column).toHaveLength(1);
      const inDatabase = [...rows[0]!.definition.matchAll(/'([^']+)'::text/g)].map((match) => match[1]);
      expect(new Set(inDatabase), column).toEqual(new Set(values));
    }
  } finally {
    await client.end();
    await db.drop();
  }
});
