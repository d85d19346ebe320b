/** What the counters need of a connection: @prospectflow/tenant-context's TenantClient fits. */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount?: number | null }>;
}

/** The counters of tracking.campaign_daily_stats (a test compares them with the table's columns). */
export const STAT_COLUMNS = [
  'sent',
  'opened',
  'machine_opened',
  'replied',
  'bounced',
  'unsubscribed',
] as const;
export type StatColumn = (typeof STAT_COLUMNS)[number];

/**
 * Adds 1 to a campaign's counter for the UTC day of `at` and the message's variant (NULL: no
 * experiment). The one way counters move; app.record_sent bumps `sent` in SQL with the same
 * statement (apps/worker/test/outreach-domain.test.ts checks they land in the same row).
 */
export async function bumpDailyStat(
  client: Queryable,
  campaignId: string,
  variantId: string | null,
  column: StatColumn,
  at: Date,
): Promise<void> {
  // Column names come from the StatColumn union, never from input.
  await client.query(
    `INSERT INTO tracking.campaign_daily_stats (campaign_id, day, variant_id, ${column})
     VALUES ($1, ($3::timestamptz AT TIME ZONE 'UTC')::date, $2, 1)
     ON CONFLICT ON CONSTRAINT campaign_daily_stats_key DO UPDATE SET ${column} = campaign_daily_stats.${column} + 1`,
    [campaignId, variantId, at],
  );
}

/** The campaign and variant an outbound message belongs to. */
export async function messageCampaign(
  client: Queryable,
  messageId: string,
): Promise<{ campaign_id: string; variant_id: string | null } | undefined> {
  const { rows } = await client.query<{ campaign_id: string; variant_id: string | null }>(
    `SELECT e.campaign_id, m.variant_id FROM outreach.messages m
     JOIN outreach.campaign_enrollments e ON e.organisation_id = m.organisation_id AND e.id = m.enrollment_id
     WHERE m.id = $1`,
    [messageId],
  );
  return rows[0];
}
