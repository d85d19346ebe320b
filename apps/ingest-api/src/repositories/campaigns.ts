import { stopEnrollment } from '@prospectflow/outreach-core';
import { lockOrganisation, type TenantClient } from '@prospectflow/tenant-context';
import type { Static } from 'typebox';
import { conflict, notFound, unprocessable } from '../lib/problem.js';
import { cancelPendingTasks, enqueueScheduling } from '../outreach/tasks.js';
import type { Database } from '../plugins/app/db.js';
import type * as schema from '../routes/v1/campaigns/schema.js';
import { requireVerifiedMailbox } from './mailbox-usable.js';

type CampaignView = Static<typeof schema.Campaign>;
type StatsDay = Static<typeof schema.CampaignStats>['days'][number];
/** Most positions one enrollment request may match. */
const MAX_ENROLLMENT = 50_000;

async function insertSteps(
  client: TenantClient,
  campaignId: string,
  steps: Static<typeof schema.StepInput>[],
) {
  for (const [i, step] of steps.entries()) {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO outreach.workflow_steps (campaign_id, step_order, delay_days, exit_on_reply, subject_template, body_template)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [
        campaignId,
        i + 1,
        step.delayDays,
        step.exitOnReply ?? true,
        step.subject ?? null,
        step.body ?? step.variants?.[0]?.body ?? null,
      ],
    );
    if (!step.variants) continue;
    const experiment = await client.query<{ id: string }>(
      'INSERT INTO outreach.step_experiments (step_id) VALUES ($1) RETURNING id',
      [rows[0]!.id],
    );
    for (const v of step.variants) {
      await client.query(
        `INSERT INTO outreach.step_experiment_variants (experiment_id, label, weight, subject_template, body_template) VALUES ($1, $2, $3, $4, $5)`,
        [experiment.rows[0]!.id, v.label, v.weight, v.subject ?? null, v.body],
      );
    }
  }
}

/** The campaign with its ordered steps, experiments and variants (undefined when not visible). */
async function loadCampaign(client: TenantClient, id: string): Promise<CampaignView | undefined> {
  const { rows } = await client.query<CampaignView>(
    `SELECT c.id, c.name, c.description, c.status, c.mailbox_id AS "mailboxId",
       coalesce((SELECT json_agg(cm.mailbox_id ORDER BY cm.created_at, cm.mailbox_id) FROM outreach.campaign_mailboxes cm
                 WHERE cm.campaign_id = c.id), '[]'::json) AS "additionalMailboxIds",
       c.tracking_enabled AS "trackingEnabled",
       to_json(c.activated_at) #>> '{}' AS "activatedAt", to_json(c.created_at) #>> '{}' AS "createdAt", to_json(c.updated_at) #>> '{}' AS "updatedAt",
       coalesce((
         SELECT json_agg(json_build_object(
           'id', s.id, 'order', s.step_order, 'delayDays', s.delay_days, 'exitOnReply', s.exit_on_reply,
           'subject', s.subject_template, 'body', s.body_template,
           'experiment', (SELECT json_build_object('id', e.id, 'status', e.status, 'winnerVariantId', e.winner_variant_id,
                'variants', (SELECT coalesce(json_agg(json_build_object('id', v.id, 'label', v.label, 'weight', v.weight,
                   'subject', v.subject_template, 'body', v.body_template) ORDER BY v.label), '[]'::json)
                 FROM outreach.step_experiment_variants v WHERE v.experiment_id = e.id))
              FROM outreach.step_experiments e WHERE e.step_id = s.id)
         ) ORDER BY s.step_order) FROM outreach.workflow_steps s WHERE s.campaign_id = c.id), '[]'::json) AS steps
     FROM outreach.campaigns c WHERE c.id = $1`,
    [id],
  );
  return rows[0];
}

/** The campaign's status, row-locked for the rest of the unit; 404 when not visible. */
async function lockCampaign(client: TenantClient, id: string) {
  const { rows } = await client.query<{ status: string; mailbox_id: string | null }>(
    'SELECT status, mailbox_id FROM outreach.campaigns WHERE id = $1 FOR UPDATE',
    [id],
  );
  if (!rows[0]) throw notFound('Campaign');
  return rows[0];
}

/**
 * The campaign's further mailboxes become exactly `ids`. Enrollments already pinned to a removed
 * one keep it (their thread lives there); new enrollments are spread over the rest.
 */
async function setAdditionalMailboxes(
  client: TenantClient,
  campaignId: string,
  ids: string[],
): Promise<void> {
  await client.query(
    'DELETE FROM outreach.campaign_mailboxes WHERE campaign_id = $1 AND NOT (mailbox_id = ANY ($2::uuid[]))',
    [campaignId, ids],
  );
  await client.query(
    `INSERT INTO outreach.campaign_mailboxes (campaign_id, mailbox_id) SELECT $1, unnest($2::uuid[])
     ON CONFLICT (organisation_id, campaign_id, mailbox_id) DO NOTHING`,
    [campaignId, ids],
  );
}

/** Enrollment candidates with the reason each one is skipped (null: eligible). */
async function enrollmentCandidates(
  client: TenantClient,
  id: string,
  request: Static<typeof schema.EnrollmentRequest>,
) {
  const f = request.filter;
  const { rows } = await client.query<{ position_id: string; reason: string | null }>(
    `WITH requested AS (
       SELECT DISTINCT x AS position_id FROM unnest($2::uuid[]) AS x
     ), candidates AS (
       SELECT r.position_id, p.id AS found, p.email FROM requested r LEFT JOIN crm.positions p ON p.id = r.position_id
       UNION ALL
       SELECT p.id, p.id, p.email FROM crm.positions p
       WHERE $6 AND ($3::text IS NULL OR p.list_name = $3) AND ($4::uuid IS NULL OR p.company_id = $4)
         AND ($5::text IS NULL OR p.title ILIKE '%' || replace(replace($5, '%', '\\%'), '_', '\\_') || '%')
     )
     SELECT c.position_id,
       CASE
         WHEN c.found IS NULL THEN 'not_found'
         WHEN c.email IS NULL THEN 'no_email'
         -- By index per candidate (a citext comparison under RLS is not one: migration 0998).
         WHEN app.suppression_reason(c.email) IS NOT NULL THEN 'suppressed'
         WHEN EXISTS (SELECT 1 FROM outreach.campaign_enrollments e WHERE e.campaign_id = $1 AND e.position_id = c.position_id) THEN 'duplicate'
         WHEN NOT $7 AND EXISTS (SELECT 1 FROM outreach.campaign_enrollments e
           WHERE e.campaign_id <> $1 AND e.position_id = c.position_id AND e.status IN ('active', 'paused')) THEN 'enrolled_elsewhere'
       END AS reason
     FROM candidates c ORDER BY c.position_id LIMIT ${MAX_ENROLLMENT + 1}`,
    [
      id,
      request.positionIds ?? [],
      f?.listName ?? null,
      f?.companyId ?? null,
      f?.titleContains ?? null,
      Boolean(f),
      request.allowEnrolledElsewhere ?? false,
    ],
  );
  return rows;
}

/** Campaigns, their steps and enrollments, of the request's organisation (RLS scopes every statement). */
export function campaignsRepository(db: Database) {
  return {
    async create(body: Static<typeof schema.CampaignCreate>): Promise<CampaignView> {
      return await db.tenant(async (c) => {
        const { rows } = await c.query<{ id: string }>(
          `INSERT INTO outreach.campaigns (name, description, mailbox_id, tracking_enabled) VALUES ($1, $2, $3, coalesce($4, true)) RETURNING id`,
          [body.name.trim(), body.description ?? null, body.mailboxId ?? null, body.trackingEnabled ?? null],
        );
        await insertSteps(c, rows[0]!.id, body.steps);
        if (body.additionalMailboxIds)
          await setAdditionalMailboxes(c, rows[0]!.id, body.additionalMailboxIds);
        return (await loadCampaign(c, rows[0]!.id))!;
      });
    },

    /** Newest first, at most 500. */
    async list(status: string | undefined): Promise<CampaignView[]> {
      return await db.tenant(async (c) => {
        const { rows } = await c.query<{ id: string }>(
          `SELECT id FROM outreach.campaigns WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC, id LIMIT 500`,
          [status ?? null],
        );
        const items: CampaignView[] = [];
        for (const r of rows) {
          const item = await loadCampaign(c, r.id);
          if (item) items.push(item);
        }
        return items;
      });
    },

    async get(id: string): Promise<CampaignView> {
      const row = await db.tenant((c) => loadCampaign(c, id));
      if (!row) throw notFound('Campaign');
      return row;
    },

    /** Steps are replaced only while the campaign is a draft (409 otherwise). */
    async update(id: string, body: Static<typeof schema.CampaignPatch>): Promise<CampaignView> {
      return await db.tenant(async (c) => {
        const current = await lockCampaign(c, id);
        if (body.steps && current.status !== 'draft')
          throw conflict('campaign_not_draft', 'Steps can only be replaced while the campaign is a draft.');
        await c.query(
          `UPDATE outreach.campaigns SET name = coalesce($2, name), description = coalesce($3, description),
             mailbox_id = coalesce($4, mailbox_id), tracking_enabled = coalesce($5, tracking_enabled) WHERE id = $1`,
          [
            id,
            body.name?.trim() ?? null,
            body.description ?? null,
            body.mailboxId ?? null,
            body.trackingEnabled ?? null,
          ],
        );
        if (body.steps) {
          await c.query('DELETE FROM outreach.workflow_steps WHERE campaign_id = $1', [id]);
          await insertSteps(c, id, body.steps);
        }
        // An active campaign keeps sending only from verified mailboxes: its main one (when it
        // changes) and every further one (checked after the writes, so a foreign id is a 422
        // invalid_reference first; the transaction rolls back either way).
        if (current.status === 'active' && body.mailboxId && body.mailboxId !== current.mailbox_id)
          await requireVerifiedMailbox(c, body.mailboxId);
        if (body.additionalMailboxIds) {
          await setAdditionalMailboxes(c, id, body.additionalMailboxIds);
          if (current.status === 'active')
            for (const mailbox of body.additionalMailboxIds) await requireVerifiedMailbox(c, mailbox);
        }
        return (await loadCampaign(c, id))!;
      });
    },

    /** Refused (409) while active; takes its enrollments, messages and queued tasks with it. */
    async delete(id: string): Promise<void> {
      await db.tenant(async (c) => {
        const current = await lockCampaign(c, id);
        if (current.status === 'active')
          throw conflict('campaign_active', 'Pause the campaign before deleting it.');
        await c.query(
          `DELETE FROM outreach.tasks WHERE enrollment_id IN (SELECT id FROM outreach.campaign_enrollments WHERE campaign_id = $1)`,
          [id],
        );
        await c.query('DELETE FROM outreach.campaigns WHERE id = $1', [id]);
      });
    },

    /** Active, and every active (or replied) enrollment gets its scheduling task. */
    async activate(id: string): Promise<CampaignView> {
      return await db.tenant(async (c) => {
        const current = await lockCampaign(c, id);
        if (!current.mailbox_id)
          throw unprocessable('campaign_has_no_mailbox', 'Choose a mailbox (mailboxId) before activating.');
        await requireVerifiedMailbox(c, current.mailbox_id);
        const extra = await c.query<{ mailbox_id: string }>(
          'SELECT mailbox_id FROM outreach.campaign_mailboxes WHERE campaign_id = $1 ORDER BY mailbox_id',
          [id],
        );
        for (const r of extra.rows) await requireVerifiedMailbox(c, r.mailbox_id);
        if (current.status === 'completed' || current.status === 'archived') {
          throw conflict('campaign_closed', `A ${current.status} campaign cannot be activated.`);
        }
        await c.query(
          `UPDATE outreach.campaigns SET status = 'active', activated_at = coalesce(activated_at, now()) WHERE id = $1`,
          [id],
        );
        // Replied enrollments too: one whose next step does not exit on reply goes on (the worker's
        // schedule task decides), and a pause cancelled that step's send.
        const { rows } = await c.query<{ id: string }>(
          `SELECT id FROM outreach.campaign_enrollments WHERE campaign_id = $1 AND status IN ('active', 'replied')`,
          [id],
        );
        await enqueueScheduling(
          c,
          rows.map((r) => r.id),
        );
        return (await loadCampaign(c, id))!;
      });
    },

    /** Paused, and every queued task of its enrollments cancelled. */
    async pause(id: string): Promise<CampaignView> {
      return await db.tenant(async (c) => {
        const { rowCount } = await c.query(
          `UPDATE outreach.campaigns SET status = 'paused' WHERE id = $1 AND status IN ('active', 'paused', 'draft')`,
          [id],
        );
        if (!rowCount) {
          const exists = (await c.query('SELECT 1 FROM outreach.campaigns WHERE id = $1', [id])).rowCount;
          if (!exists) throw notFound('Campaign');
          throw conflict('campaign_closed', 'A completed or archived campaign cannot be paused.');
        }
        const { rows } = await c.query<{ id: string }>(
          'SELECT id FROM outreach.campaign_enrollments WHERE campaign_id = $1',
          [id],
        );
        await cancelPendingTasks(
          c,
          rows.map((r) => r.id),
        );
        return (await loadCampaign(c, id))!;
      });
    },

    /** Enrolls eligible positions and says why each other one was skipped. */
    async enroll(
      id: string,
      request: Static<typeof schema.EnrollmentRequest>,
    ): Promise<Static<typeof schema.EnrollmentResult>> {
      return await db.tenant(async (c) => {
        const campaign = await lockCampaign(c, id);
        if (campaign.status === 'completed' || campaign.status === 'archived')
          throw conflict('campaign_closed', `The campaign is ${campaign.status}.`);
        // Enrollments of the organisation one at a time: "enrolled elsewhere" is read before the
        // insert, so two requests into two campaigns at once would each miss the other's position.
        await lockOrganisation(c, 'enrollments');
        const rows = await enrollmentCandidates(c, id, request);
        if (rows.length > MAX_ENROLLMENT)
          throw unprocessable(
            'too_many_positions',
            'A filter may match at most 50,000 positions per request.',
          );
        const eligible = rows.filter((r) => r.reason === null).map((r) => r.position_id);
        const inserted = await c.query<{ id: string; position_id: string }>(
          `INSERT INTO outreach.campaign_enrollments (campaign_id, position_id) SELECT $1, x FROM unnest($2::uuid[]) AS x
           ON CONFLICT (organisation_id, campaign_id, position_id) DO NOTHING RETURNING id, position_id`,
          [id, eligible],
        );
        if (campaign.status === 'active') {
          await enqueueScheduling(
            c,
            inserted.rows.map((r) => r.id),
          );
        }
        return {
          enrolled: inserted.rows.map((r) => ({ positionId: r.position_id, enrollmentId: r.id })),
          skipped: rows
            .filter((r) => r.reason !== null)
            .map((r) => ({ positionId: r.position_id, reason: r.reason as 'duplicate' })),
        };
      });
    },

    /**
     * A member stops one enrollment by hand: the address is suppressed (manual), the enrollment
     * unsubscribed and its queued tasks cancelled (outreach-core stopEnrollment). Idempotent.
     */
    async stopEnrollment(id: string, enrollmentId: string): Promise<Static<typeof schema.EnrollmentStopped>> {
      return await db.tenant(async (c) => {
        const found = await c.query(
          'SELECT 1 FROM outreach.campaign_enrollments WHERE id = $1 AND campaign_id = $2',
          [enrollmentId, id],
        );
        if (!found.rowCount) throw notFound('Enrollment');
        const result = await stopEnrollment(c, { enrollmentId, reason: 'manual', at: new Date() });
        const { rows } = await c.query<{ status: string }>(
          'SELECT status FROM outreach.campaign_enrollments WHERE id = $1',
          [enrollmentId],
        );
        return {
          enrollmentId,
          status: rows[0]!.status,
          stopped: result.stopped.length > 0,
          suppressed: result.suppressed,
        };
      });
    },

    /** Daily counters per variant between two dates (inclusive); 404 for an unknown campaign. */
    async dailyStats(id: string, from: string | undefined, to: string | undefined): Promise<StatsDay[]> {
      // Aggregates that tolerate seconds of lag: served by the read replica when one is configured.
      return await db.readTenant(async (c) => {
        if (!(await c.query('SELECT 1 FROM outreach.campaigns WHERE id = $1', [id])).rowCount)
          throw notFound('Campaign');
        const { rows } = await c.query<StatsDay>(
          `SELECT to_char(s.day, 'YYYY-MM-DD') AS day, s.variant_id AS "variantId", v.label AS "variantLabel",
             s.sent, s.opened, s.machine_opened AS "machineOpened", s.replied, s.bounced, s.unsubscribed
           FROM tracking.campaign_daily_stats s LEFT JOIN outreach.step_experiment_variants v ON v.organisation_id = s.organisation_id AND v.id = s.variant_id
           WHERE s.campaign_id = $1 AND ($2::date IS NULL OR s.day >= $2) AND ($3::date IS NULL OR s.day <= $3)
           ORDER BY s.day, v.label NULLS FIRST`,
          [id, from ?? null, to ?? null],
        );
        return rows;
      });
    },
  };
}
