import { unknownVariables } from '@prospectflow/outreach-core';
import type { Static } from 'typebox';
import { unprocessable } from '../../../lib/problem.js';
import type { CampaignStats, StepInput } from './schema.js';

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

type Stats = Static<typeof CampaignStats>;
const COUNTERS = ['sent', 'opened', 'machineOpened', 'replied', 'bounced', 'unsubscribed'] as const;
type Counters = Record<(typeof COUNTERS)[number], number>;

/** The daily rows, plus their sums per variant and overall. */
export function summariseStats(days: Stats['days']): Stats {
  const zero = () => Object.fromEntries(COUNTERS.map((k) => [k, 0])) as Counters;
  const totals = zero();
  const variants = new Map<string, { variantId: string | null; variantLabel: string | null } & Counters>();
  for (const r of days) {
    const key = r.variantId ?? '';
    const v = variants.get(key) ?? { variantId: r.variantId, variantLabel: r.variantLabel, ...zero() };
    for (const k of COUNTERS) {
      v[k] += r[k];
      totals[k] += r[k];
    }
    variants.set(key, v);
  }
  return { days, variants: [...variants.values()], totals };
}
