import type { TenantClient } from '@prospectflow/tenant-context';

export type StatColumn = 'sent' | 'opened' | 'machine_opened' | 'replied' | 'bounced' | 'unsubscribed';

/** Adds 1 to a campaign's counter for the UTC day of `at` and the message's variant (NULL: no experiment). */
export async function bumpDailyStat(
  client: TenantClient,
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
