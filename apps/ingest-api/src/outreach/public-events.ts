import {
  bumpDailyStat,
  messageCampaign,
  type SubjectKeys,
  subjectHmac,
  unsubscribeByToken,
} from '@prospectflow/outreach-core';
import { type TenantClient, withTenant } from '@prospectflow/tenant-context';
import type pg from 'pg';
import { suppressSubject } from '../privacy/suppression.js';
import type { Sender } from './recipient-pages.js';

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
  return await withTenant(pool, { organisationId: org }, fn);
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
    // The upsert's own result says whether this open is the message's first of its kind: the
    // conflicting row is locked while it is updated, so concurrent opens each see their own count
    // (a read before the upsert finds no row to lock for two simultaneous first opens).
    const after = (
      await client.query<{ open_count: number; machine_open_count: number }>(
        `INSERT INTO tracking.message_open_stats (message_id, open_count, machine_open_count, first_opened_at, last_opened_at)
         VALUES ($1, $2, $3, CASE WHEN $2 = 1 THEN $4::timestamptz END, $4)
         ON CONFLICT (organisation_id, message_id) DO UPDATE SET
           open_count = message_open_stats.open_count + $2,
           machine_open_count = message_open_stats.machine_open_count + $3,
           first_opened_at = coalesce(message_open_stats.first_opened_at, CASE WHEN $2 = 1 THEN $4::timestamptz END),
           last_opened_at = $4
         RETURNING open_count, machine_open_count`,
        [pixel.message_id, machine ? 0 : 1, machine ? 1 : 0, now],
      )
    ).rows[0]!;
    // Daily stats count each message once: its first human open, or its first machine open.
    const firstOfKind = machine ? after.machine_open_count === 1 : after.open_count === 1;
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
  const done = await underTokenOrganisation(pool, 'organisation_for_unsubscribe_token', token, (client) =>
    unsubscribeByToken(client, token, now),
  );
  return done ?? false;
}

/** The organisation behind an unsubscribe token, as its recipient pages name it. */
export async function senderOfToken(pool: pg.Pool, token: string): Promise<Sender | undefined> {
  return await underTokenOrganisation(pool, 'organisation_for_unsubscribe_token', token, async (client) => {
    const { rows } = await client.query<Sender>(
      `SELECT o.name, s.privacy_notice_url AS "privacyNoticeUrl" FROM app.current_organisation() o
       LEFT JOIN iam.privacy_settings s ON s.organisation_id = o.id`,
    );
    return rows[0];
  });
}

/**
 * A recipient asks for erasure from the page behind their unsubscribe link. It is an objection
 * at once (unsubscribed, keyed hash on the suppression list) and an erasure request waiting for
 * an admin (GET /v1/privacy/erasure-requests; Art. 12(3): within one month). Idempotent.
 */
export async function requestErasure(pool: pg.Pool, keys: SubjectKeys, token: string): Promise<boolean> {
  if (!(await unsubscribe(pool, token))) return false;
  await underTokenOrganisation(pool, 'organisation_for_unsubscribe_token', token, async (client) => {
    const { rows } = await client.query<{ to_address: string; position_id: string | null }>(
      `SELECT m.to_address::text AS to_address, e.position_id FROM outreach.messages m
       LEFT JOIN outreach.campaign_enrollments e ON e.id = m.enrollment_id WHERE m.unsubscribe_token = $1`,
      [token],
    );
    const message = rows[0];
    if (!message?.to_address) return;
    await suppressSubject(client, keys, message.to_address, 'objection');
    await client.query(
      `INSERT INTO iam.erasure_requests (position_id, key_version, subject_hmac) VALUES ($1, $2, $3)
       ON CONFLICT (organisation_id, key_version, subject_hmac) WHERE status = 'pending' DO NOTHING`,
      [message.position_id, keys.current.version, subjectHmac(message.to_address, keys.current)],
    );
  });
  return true;
}
