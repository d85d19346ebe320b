import { bumpDailyStat, messageCampaign } from '@prospectflow/outreach-core';
import { runWithTenant, type TenantClient, withTenantClient } from '@prospectflow/tenant-context';
import type pg from 'pg';
import { cancelPendingTasks } from './tasks.js';

const TOKEN = /^[A-Za-z0-9_-]{22,64}$/;

/** Resolves the organisation of a public token (narrow SECURITY DEFINER function), then runs fn under it. */
async function underTokenOrganisation<T>(
  pool: pg.Pool,
  resolver: 'organisation_for_pixel_token' | 'organisation_for_unsubscribe_token',
  token: string,
  fn: (client: TenantClient) => Promise<T>,
): Promise<T | undefined> {
  // Malformed tokens still cost the same look-up, so they answer like unknown ones.
  const candidate = TOKEN.test(token) ? token : 'x'.repeat(22);
  const { rows } = await pool.query<{ org: string | null }>(`SELECT app.${resolver}($1) AS org`, [candidate]);
  const org = TOKEN.test(token) ? rows[0]?.org : null;
  if (!org) return undefined;
  return await runWithTenant({ organisationId: org }, () => withTenantClient(pool, fn));
}

// Prefetchers and security scanners, not people (Apple MPP shows as a bare proxy fetch).
const MACHINE_AGENT =
  /bot|crawler|spider|scanner|preview|proxy|barracuda|mimecast|proofpoint|symantec|python|curl|wget|headless/i;

/** Records an open for a pixel token. Returns false for unknown tokens. */
export async function recordOpen(
  pool: pg.Pool,
  token: string,
  userAgent: string | undefined,
  now = new Date(),
): Promise<boolean> {
  const done = await underTokenOrganisation(pool, 'organisation_for_pixel_token', token, async (client) => {
    const { rows } = await client.query<{ message_id: string; sent_at: Date | null }>(
      `SELECT p.message_id, m.sent_at FROM tracking.pixels p
       JOIN outreach.messages m ON m.organisation_id = p.organisation_id AND m.id = p.message_id WHERE p.token = $1`,
      [token],
    );
    const pixel = rows[0];
    if (!pixel) return false;
    // Opens within seconds of sending are scanners fetching on delivery.
    const machine =
      MACHINE_AGENT.test(userAgent ?? '') ||
      !userAgent ||
      (pixel.sent_at !== null && now.getTime() - pixel.sent_at.getTime() < 10_000);
    await client.query(
      'INSERT INTO tracking.open_events (message_id, opened_at, is_machine, user_agent) VALUES ($1, $2, $3, $4)',
      [pixel.message_id, now, machine, userAgent?.slice(0, 500) ?? null],
    );
    const before = (
      await client.query<{ open_count: number; machine_open_count: number }>(
        'SELECT open_count, machine_open_count FROM tracking.message_open_stats WHERE message_id = $1 FOR UPDATE',
        [pixel.message_id],
      )
    ).rows[0];
    await client.query(
      `INSERT INTO tracking.message_open_stats (message_id, open_count, machine_open_count, first_opened_at, last_opened_at)
       VALUES ($1, $2, $3, CASE WHEN $2 = 1 THEN $4::timestamptz END, $4)
       ON CONFLICT (organisation_id, message_id) DO UPDATE SET
         open_count = message_open_stats.open_count + $2,
         machine_open_count = message_open_stats.machine_open_count + $3,
         first_opened_at = coalesce(message_open_stats.first_opened_at, CASE WHEN $2 = 1 THEN $4::timestamptz END),
         last_opened_at = $4`,
      [pixel.message_id, machine ? 0 : 1, machine ? 1 : 0, now],
    );
    // Daily stats count each message once: its first human open, or its first machine open.
    const firstOfKind = machine ? (before?.machine_open_count ?? 0) === 0 : (before?.open_count ?? 0) === 0;
    if (firstOfKind) {
      const owner = await messageCampaign(client, pixel.message_id);
      if (owner)
        await bumpDailyStat(
          client,
          owner.campaign_id,
          owner.variant_id,
          machine ? 'machine_opened' : 'opened',
          now,
        );
    }
    return true;
  });
  return done ?? false;
}

/** One-click unsubscribe: suppression + enrollment unsubscribed. Idempotent; false for unknown tokens. */
export async function unsubscribe(pool: pg.Pool, token: string, now = new Date()): Promise<boolean> {
  const done = await underTokenOrganisation(
    pool,
    'organisation_for_unsubscribe_token',
    token,
    async (client) => {
      const { rows } = await client.query<{ id: string; enrollment_id: string | null; to_address: string }>(
        `SELECT id, enrollment_id, to_address FROM outreach.messages WHERE unsubscribe_token = $1`,
        [token],
      );
      const message = rows[0];
      if (!message) return false;
      await client.query(
        `INSERT INTO outreach.suppressions (email, reason, source_message_id) VALUES ($1, 'unsubscribed', $2)
       ON CONFLICT (organisation_id, email) DO NOTHING`,
        [message.to_address, message.id],
      );
      if (message.enrollment_id) {
        const changed = await client.query(
          `UPDATE outreach.campaign_enrollments SET status = 'unsubscribed', next_run_at = NULL
         WHERE id = $1 AND status IN ('active', 'paused', 'replied', 'completed') RETURNING id`,
          [message.enrollment_id],
        );
        if (changed.rowCount) {
          await cancelPendingTasks(client, [message.enrollment_id]);
          const owner = await messageCampaign(client, message.id);
          if (owner) await bumpDailyStat(client, owner.campaign_id, owner.variant_id, 'unsubscribed', now);
        }
      }
      return true;
    },
  );
  return done ?? false;
}
