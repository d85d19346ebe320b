import { unknownVariables } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import type { Static } from 'typebox';
import { unprocessable } from '../../../lib/problem.js';
import type { Campaign, StepInput } from './schema.js';

type Step = Static<typeof StepInput>;

/** Unknown variables are refused at save (422 listing each field), as is a first step without a subject. */
export function validateSteps(steps: Step[]): void {
  const errors: { field: string; code: string; message: string }[] = [];
  const check = (field: string, template: string | null | undefined) => {
    if (!template) return;
    const bad = unknownVariables(template);
    if (bad.length)
      errors.push({
        field,
        code: 'unknown_template_variables',
        message: `Unknown template variables: ${bad.join(', ')}`,
      });
  };
  steps.forEach((step, i) => {
    check(`steps[${i}].subject`, step.subject);
    check(`steps[${i}].body`, step.body);
    step.variants?.forEach((v, j) => {
      check(`steps[${i}].variants[${j}].subject`, v.subject);
      check(`steps[${i}].variants[${j}].body`, v.body);
    });
    if (!step.body && !step.variants)
      errors.push({
        field: `steps[${i}].body`,
        code: 'required',
        message: 'A step needs a body or variants.',
      });
    const labels = step.variants?.map((v) => v.label) ?? [];
    if (new Set(labels).size !== labels.length)
      errors.push({
        field: `steps[${i}].variants`,
        code: 'duplicate_label',
        message: 'Variant labels must differ.',
      });
    if (i === 0 && !step.subject && !step.variants?.every((v) => v.subject)) {
      errors.push({
        field: 'steps[0].subject',
        code: 'required',
        message: 'The first step needs a subject (later steps may reply in its thread).',
      });
    }
  });
  if (errors.length) throw unprocessable('invalid_campaign_steps', 'Some steps are invalid.', { errors });
}

export async function insertSteps(client: TenantClient, campaignId: string, steps: Step[]): Promise<void> {
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
export async function loadCampaign(
  client: TenantClient,
  id: string,
): Promise<Static<typeof Campaign> | undefined> {
  const { rows } = await client.query<Static<typeof Campaign>>(
    `SELECT c.id, c.name, c.description, c.status, c.mailbox_id AS "mailboxId", c.tracking_enabled AS "trackingEnabled",
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
