import { checkDomainProof, type DnsOptions } from '@prospectflow/mailboxes';
import { recordDomainCheck } from '@prospectflow/outreach-core';
import { ReleasedError } from '../queue/errors.js';
import { inTenant } from '../queue/sql.js';
import type { TaskHandler } from '../queue/types.js';

/**
 * check_sending_domains: looks up the DNS proof of every proved sending domain of the task's
 * organisation again and records each result as `POST /v1/sending-domains/{id}/verify` does
 * (recordDomainCheck): a proof DNS says is gone unproves the domain and withdraws its relay
 * mailboxes, so the relay stops sending as it; a failed lookup keeps the proof for a while
 * (PROOF_UNCONFIRMED_LIMIT_DAYS). One short transaction per domain, none held over a lookup.
 */
export function checkSendingDomains(dns: DnsOptions): TaskHandler {
  return async (ctx) => {
    const organisationId = ctx.task.organisation_id;
    const domains = await inTenant(ctx.pool, organisationId, async (c) => {
      const { rows } = await c.query<{ id: string; domain: string; proof_token: string }>(
        'SELECT id, domain, proof_token FROM outreach.sending_domains WHERE verified_at IS NOT NULL ORDER BY domain',
      );
      return rows;
    });
    const outcome = { proved: 0, withdrawn: 0, lookupFailed: 0 };
    for (const { id, domain, proof_token } of domains) {
      if (ctx.signal.aborted) throw new ReleasedError('shutting down: domain checks handed back');
      const result = await checkDomainProof(domain, proof_token, dns);
      const recorded = await inTenant(ctx.pool, organisationId, (c) => recordDomainCheck(c, id, result));
      if (!recorded) continue; // removed meanwhile (its relay mailboxes went with it)
      if (result.proved) outcome.proved += 1;
      else if (recorded.withdrawn) {
        outcome.withdrawn += 1;
        ctx.log.warn(
          { domain, reason: recorded.lastError },
          'sending domain proof gone: its relay mailboxes are withdrawn',
        );
      } else {
        outcome.lookupFailed += 1;
        ctx.log.warn(
          { domain, reason: recorded.lastError },
          'sending domain re-check failed: the proof is kept',
        );
      }
    }
    ctx.log.info(outcome, 'sending domains checked');
  };
}
