import { retentionRules } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import { retentionPolicy } from './settings.js';

/**
 * Dry run of the retention task: what each rule would remove now, with the same rule definitions
 * the worker applies (outreach-core), nothing changed.
 */
export async function previewRetention(client: TenantClient, now = new Date()) {
  const policy = await retentionPolicy(client);
  const rules = [];
  for (const rule of retentionRules(policy, now)) {
    const { rows } = await client.query<{ n: number }>(rule.countSql, [rule.cutoff]);
    rules.push({
      rule: rule.name,
      description: rule.description,
      cutoff: rule.cutoff.toISOString(),
      due: rows[0]?.n ?? 0,
    });
  }
  return { enabled: policy.retention_enabled, generatedAt: now.toISOString(), rules };
}
