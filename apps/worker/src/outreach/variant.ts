import { createHmac } from 'node:crypto';

export interface WeightedVariant {
  id: string;
  label: string;
  weight: number;
}

/**
 * Stable weighted pick: HMAC-SHA256(seed, experiment:enrollment) mapped to [0, 1) and walked
 * over the cumulative weights in label order. The same enrollment always lands in the same
 * variant (the pick is also stored, so later weight edits never move anyone).
 */
export function pickVariant<V extends WeightedVariant>(
  seed: string,
  experimentId: string,
  enrollmentId: string,
  variants: V[],
): V {
  if (variants.length === 0) throw new Error('experiment has no variants');
  const sorted = [...variants].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const total = sorted.reduce((sum, v) => sum + v.weight, 0);
  const digest = createHmac('sha256', seed).update(`${experimentId}:${enrollmentId}`).digest();
  const unit = digest.readUIntBE(0, 6) / 2 ** 48;
  let point = unit * total;
  for (const variant of sorted) {
    point -= variant.weight;
    if (point < 0) return variant;
  }
  return sorted[sorted.length - 1]!;
}
