import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { conflict, notFound, unprocessable } from '../../../lib/problem.js';
import { IdParams, TenantHeaders } from '../../../lib/schemas.js';
import { cancelPendingTasks, enqueueScheduling } from '../../../outreach/tasks.js';
import {
  Campaign,
  CampaignCreate,
  CampaignPatch,
  CampaignStats,
  EnrollmentRequest,
  EnrollmentResult,
} from './schema.js';
import { insertSteps, loadCampaign, validateSteps } from './service.js';

const tags = ['outreach'];

const campaigns: FastifyPluginAsyncTypebox = async (fastify) => {
  const load = async (id: string) => {
    const row = await fastify.db.tenant((c) => loadCampaign(c, id));
    if (!row) throw notFound('Campaign');
    return row;
  };

  fastify.post(
    '',
    {
      schema: {
        tags,
        summary: 'Create a campaign (draft) with ordered steps, A/B variants per step',
        headers: TenantHeaders,
        body: CampaignCreate,
        response: { 201: Campaign },
      },
    },
    async (request, reply) => {
      const body = request.body;
      validateSteps(body.steps);
      const created = await fastify.db.tenant(async (c) => {
        const { rows } = await c.query<{ id: string }>(
          `INSERT INTO outreach.campaigns (name, description, mailbox_id, tracking_enabled) VALUES ($1, $2, $3, coalesce($4, true)) RETURNING id`,
          [body.name.trim(), body.description ?? null, body.mailboxId ?? null, body.trackingEnabled ?? null],
        );
        await insertSteps(c, rows[0]!.id, body.steps);
        return (await loadCampaign(c, rows[0]!.id))!;
      });
      reply.code(201).header('location', `/v1/campaigns/${created.id}`);
      return created;
    },
  );

  fastify.get(
    '',
    {
      schema: {
        tags,
        summary: 'List campaigns (newest first)',
        headers: TenantHeaders,
        querystring: Type.Object({ status: Type.Optional(Type.String({ maxLength: 20 })) }),
        response: { 200: Type.Object({ items: Type.Array(Campaign) }) },
      },
    },
    async (request) =>
      fastify.db.tenant(async (c) => {
        const { rows } = await c.query<{ id: string }>(
          `SELECT id FROM outreach.campaigns WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC, id LIMIT 500`,
          [request.query.status ?? null],
        );
        const items = [];
        for (const r of rows) {
          const item = await loadCampaign(c, r.id);
          if (item) items.push(item);
        }
        return { items };
      }),
  );

  fastify.get(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Get a campaign with its steps and variants',
        headers: TenantHeaders,
        params: IdParams,
        response: { 200: Campaign },
      },
    },
    async (request) => load(request.params.id),
  );

  fastify.patch(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Update a campaign; steps can be replaced while it is a draft',
        headers: TenantHeaders,
        params: IdParams,
        body: CampaignPatch,
        response: { 200: Campaign },
      },
    },
    async (request) => {
      const body = request.body;
      if (body.steps) validateSteps(body.steps);
      const row = await fastify.db.tenant(async (c) => {
        const current = (
          await c.query<{ status: string }>(
            'SELECT status FROM outreach.campaigns WHERE id = $1 FOR UPDATE',
            [request.params.id],
          )
        ).rows[0];
        if (!current) return undefined;
        if (body.steps && current.status !== 'draft')
          throw conflict('campaign_not_draft', 'Steps can only be replaced while the campaign is a draft.');
        await c.query(
          `UPDATE outreach.campaigns SET name = coalesce($2, name), description = coalesce($3, description),
             mailbox_id = coalesce($4, mailbox_id), tracking_enabled = coalesce($5, tracking_enabled) WHERE id = $1`,
          [
            request.params.id,
            body.name?.trim() ?? null,
            body.description ?? null,
            body.mailboxId ?? null,
            body.trackingEnabled ?? null,
          ],
        );
        if (body.steps) {
          await c.query('DELETE FROM outreach.workflow_steps WHERE campaign_id = $1', [request.params.id]);
          await insertSteps(c, request.params.id, body.steps);
        }
        return await loadCampaign(c, request.params.id);
      });
      if (!row) throw notFound('Campaign');
      return row;
    },
  );

  fastify.delete(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Delete a campaign that is not active (with its enrollments and messages)',
        headers: TenantHeaders,
        params: IdParams,
      },
    },
    async (request, reply) => {
      await fastify.db.tenant(async (c) => {
        const current = (
          await c.query<{ status: string }>(
            'SELECT status FROM outreach.campaigns WHERE id = $1 FOR UPDATE',
            [request.params.id],
          )
        ).rows[0];
        if (!current) throw notFound('Campaign');
        if (current.status === 'active')
          throw conflict('campaign_active', 'Pause the campaign before deleting it.');
        await c.query(
          `DELETE FROM outreach.tasks WHERE enrollment_id IN (SELECT id FROM outreach.campaign_enrollments WHERE campaign_id = $1)`,
          [request.params.id],
        );
        await c.query('DELETE FROM outreach.campaigns WHERE id = $1', [request.params.id]);
      });
      return reply.code(204).send();
    },
  );

  fastify.post(
    '/:id/activate',
    {
      schema: {
        tags,
        summary: 'Activate: schedules the next step of every active enrollment',
        headers: TenantHeaders,
        params: IdParams,
        response: { 200: Campaign },
      },
    },
    async (request) =>
      fastify.db.tenant(async (c) => {
        const current = (
          await c.query<{ status: string; mailbox_id: string | null }>(
            'SELECT status, mailbox_id FROM outreach.campaigns WHERE id = $1 FOR UPDATE',
            [request.params.id],
          )
        ).rows[0];
        if (!current) throw notFound('Campaign');
        if (!current.mailbox_id)
          throw unprocessable('campaign_has_no_mailbox', 'Choose a mailbox (mailboxId) before activating.');
        if (current.status === 'completed' || current.status === 'archived') {
          throw conflict('campaign_closed', `A ${current.status} campaign cannot be activated.`);
        }
        await c.query(
          `UPDATE outreach.campaigns SET status = 'active', activated_at = coalesce(activated_at, now()) WHERE id = $1`,
          [request.params.id],
        );
        const { rows } = await c.query<{ id: string }>(
          `SELECT id FROM outreach.campaign_enrollments WHERE campaign_id = $1 AND status = 'active'`,
          [request.params.id],
        );
        await enqueueScheduling(
          c,
          rows.map((r) => r.id),
        );
        return (await loadCampaign(c, request.params.id))!;
      }),
  );

  fastify.post(
    '/:id/pause',
    {
      schema: {
        tags,
        summary: 'Pause: nothing more is sent until it is activated again',
        headers: TenantHeaders,
        params: IdParams,
        response: { 200: Campaign },
      },
    },
    async (request) =>
      fastify.db.tenant(async (c) => {
        const { rowCount } = await c.query(
          `UPDATE outreach.campaigns SET status = 'paused' WHERE id = $1 AND status IN ('active', 'paused', 'draft')`,
          [request.params.id],
        );
        if (!rowCount) {
          const exists = (
            await c.query('SELECT 1 FROM outreach.campaigns WHERE id = $1', [request.params.id])
          ).rowCount;
          if (!exists) throw notFound('Campaign');
          throw conflict('campaign_closed', 'A completed or archived campaign cannot be paused.');
        }
        const { rows } = await c.query<{ id: string }>(
          'SELECT id FROM outreach.campaign_enrollments WHERE campaign_id = $1',
          [request.params.id],
        );
        await cancelPendingTasks(
          c,
          rows.map((r) => r.id),
        );
        return (await loadCampaign(c, request.params.id))!;
      }),
  );

  fastify.post(
    '/:id/enrollments',
    {
      schema: {
        tags,
        summary:
          'Enroll positions (ids or a filter); skips suppressed, duplicate and enrolled-elsewhere positions and says why',
        headers: TenantHeaders,
        params: IdParams,
        body: EnrollmentRequest,
        response: { 200: EnrollmentResult },
      },
    },
    async (request) => {
      const body = request.body;
      if (!body.positionIds === !body.filter)
        throw unprocessable('positions_or_filter', 'Give either positionIds or filter.');
      return await fastify.db.tenant(async (c) => {
        const campaign = (
          await c.query<{ status: string }>(
            'SELECT status FROM outreach.campaigns WHERE id = $1 FOR UPDATE',
            [request.params.id],
          )
        ).rows[0];
        if (!campaign) throw notFound('Campaign');
        if (campaign.status === 'completed' || campaign.status === 'archived')
          throw conflict('campaign_closed', `The campaign is ${campaign.status}.`);
        const f = body.filter;
        const { rows } = await c.query<{ position_id: string; reason: string | null }>(
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
               WHEN EXISTS (SELECT 1 FROM outreach.suppressions s WHERE s.email = c.email OR s.domain = split_part(c.email::text, '@', 2)) THEN 'suppressed'
               WHEN EXISTS (SELECT 1 FROM outreach.campaign_enrollments e WHERE e.campaign_id = $1 AND e.position_id = c.position_id) THEN 'duplicate'
               WHEN NOT $7 AND EXISTS (SELECT 1 FROM outreach.campaign_enrollments e
                 WHERE e.campaign_id <> $1 AND e.position_id = c.position_id AND e.status IN ('active', 'paused')) THEN 'enrolled_elsewhere'
             END AS reason
           FROM candidates c ORDER BY c.position_id LIMIT 50001`,
          [
            request.params.id,
            body.positionIds ?? [],
            f?.listName ?? null,
            f?.companyId ?? null,
            f?.titleContains ?? null,
            Boolean(f),
            body.allowEnrolledElsewhere ?? false,
          ],
        );
        if (rows.length > 50_000)
          throw unprocessable(
            'too_many_positions',
            'A filter may match at most 50,000 positions per request.',
          );
        const eligible = rows.filter((r) => r.reason === null).map((r) => r.position_id);
        const inserted = await c.query<{ id: string; position_id: string }>(
          `INSERT INTO outreach.campaign_enrollments (campaign_id, position_id) SELECT $1, x FROM unnest($2::uuid[]) AS x
           ON CONFLICT (organisation_id, campaign_id, position_id) DO NOTHING RETURNING id, position_id`,
          [request.params.id, eligible],
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
  );

  fastify.get(
    '/:id/stats',
    {
      schema: {
        tags,
        summary:
          'Results per day and per variant: sent, opened (machine opens apart), replied, bounced, unsubscribed',
        headers: TenantHeaders,
        params: IdParams,
        querystring: Type.Object({
          from: Type.Optional(Type.String({ format: 'date' })),
          to: Type.Optional(Type.String({ format: 'date' })),
        }),
        response: { 200: CampaignStats },
      },
    },
    async (request) =>
      fastify.db.tenant(async (c) => {
        if (!(await c.query('SELECT 1 FROM outreach.campaigns WHERE id = $1', [request.params.id])).rowCount)
          throw notFound('Campaign');
        const { rows } = await c.query<Static<typeof CampaignStats>['days'][number]>(
          `SELECT to_char(s.day, 'YYYY-MM-DD') AS day, s.variant_id AS "variantId", v.label AS "variantLabel",
             s.sent, s.opened, s.machine_opened AS "machineOpened", s.replied, s.bounced, s.unsubscribed
           FROM tracking.campaign_daily_stats s LEFT JOIN outreach.step_experiment_variants v ON v.organisation_id = s.organisation_id AND v.id = s.variant_id
           WHERE s.campaign_id = $1 AND ($2::date IS NULL OR s.day >= $2) AND ($3::date IS NULL OR s.day <= $3)
           ORDER BY s.day, v.label NULLS FIRST`,
          [request.params.id, request.query.from ?? null, request.query.to ?? null],
        );
        const keys = ['sent', 'opened', 'machineOpened', 'replied', 'bounced', 'unsubscribed'] as const;
        const zero = () =>
          Object.fromEntries(keys.map((k) => [k, 0])) as Record<(typeof keys)[number], number>;
        const totals = zero();
        const variants = new Map<
          string,
          { variantId: string | null; variantLabel: string | null } & ReturnType<typeof zero>
        >();
        for (const r of rows) {
          const key = r.variantId ?? '';
          const v = variants.get(key) ?? { variantId: r.variantId, variantLabel: r.variantLabel, ...zero() };
          for (const k of keys) {
            v[k] += r[k];
            totals[k] += r[k];
          }
          variants.set(key, v);
        }
        return { days: rows, variants: [...variants.values()], totals };
      }),
  );
};

export default campaigns;
