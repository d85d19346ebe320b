import { createHash, randomBytes } from 'node:crypto';

/** 128 bits from the CSPRNG, base64url (22 chars): unguessable, carries no data. */
export function randomToken(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Deterministic Message-ID for (organisation, enrollment, step): a retry after a crash resends
 * under the same id, so reply matching and receiver-side dedupe keep working.
 */
export function messageIdFor(
  organisationId: string,
  enrollmentId: string,
  stepId: string,
  fromAddress: string,
): string {
  const digest = createHash('sha256')
    .update(`${organisationId}:${enrollmentId}:${stepId}`)
    .digest('base64url')
    .slice(0, 32);
  const domain = fromAddress.split('@')[1] ?? 'prospectflow.invalid';
  return `<pf.${digest}@${domain}>`;
}
