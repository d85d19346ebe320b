import { luhnValid } from '@prospectflow/field-rules';
import type { Pool } from 'pg';
import type { TestApp, TestUser } from './app.js';

/** A SIREN with a correct check digit, derived from `n` (distinct n → distinct SIREN). */
export function validSiren(n: number): string {
  const base = String(n % 100_000_000).padStart(8, '0');
  for (let digit = 0; digit <= 9; digit += 1) {
    const candidate = `${base}${digit}`;
    if (luhnValid(candidate)) return candidate;
  }
  throw new Error('unreachable: one check digit always fits');
}

/** The same SIREN with a wrong check digit. */
export function invalidSiren(n: number): string {
  const valid = validSiren(n);
  const last = (Number(valid[8]) + 1) % 10;
  return `${valid.slice(0, 8)}${last}`;
}

/**
 * What the worker's verification leaves on a relay mailbox whose domain is proved (the API tests
 * have no worker): the domain proved with a DKIM key row, the mailbox verified.
 */
export async function markMailboxVerified(admin: Pool, mailboxId: string): Promise<void> {
  await admin.query(
    `WITH mb AS (SELECT organisation_id, split_part(from_address::text, '@', 2) AS domain FROM outreach.mailboxes WHERE id = $1)
     INSERT INTO outreach.sending_domains (organisation_id, domain, proof_token, verified_at, dkim_selector, dkim_public_key,
       dkim_ciphertext, dkim_wrapped_key, dkim_key_id)
     SELECT organisation_id, domain, repeat('0', 32), now(), 'test', 'v=DKIM1; k=rsa; p=', '\\x00', '\\x00', 'local:test' FROM mb
     ON CONFLICT (organisation_id, domain) DO NOTHING`,
    [mailboxId],
  );
  await admin.query(
    `UPDATE outreach.mailboxes SET verification_status = 'verified', verified_at = now() WHERE id = $1`,
    [mailboxId],
  );
}

/**
 * In `user`'s organisation: a verified relay mailbox `address`, an active campaign of `steps` from
 * it, and `email` enrolled whose first step went out `age` ago as Message-ID `header` (the rest
 * queued) — what an inbound mail answers.
 */
export async function sentFirstStep(
  t: TestApp,
  user: TestUser,
  o: { address: string; email: string; header: string; age?: string; steps?: object[] },
): Promise<{ enrollment: string; mailboxId: string; campaignId: string; unsubscribeToken: string }> {
  const org = user.organisationId;
  const call = (method: 'POST', url: string, payload?: object) =>
    t.request(user, { method, url, ...(payload ? { payload } : {}) });
  const mailbox = (await call('POST', '/v1/mailboxes', { fromName: 'Sales', fromAddress: o.address })).json();
  await markMailboxVerified(t.admin, mailbox.id);
  const campaign = (
    await call('POST', '/v1/campaigns', {
      name: `C ${o.header}`,
      mailboxId: mailbox.id,
      steps: o.steps ?? [{ delayDays: 0, subject: 'Hi', body: 'x' }],
    })
  ).json();
  await call('POST', `/v1/campaigns/${campaign.id}/activate`);
  const company = await t.admin.query(
    `INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Acme') RETURNING id`,
    [org],
  );
  const person = await t.admin.query(
    `INSERT INTO crm.people (organisation_id, first_name) VALUES ($1, 'P') RETURNING id`,
    [org],
  );
  const position = await t.admin.query(
    `INSERT INTO crm.positions (organisation_id, person_id, company_id, email) VALUES ($1, $2, $3, $4) RETURNING id`,
    [org, person.rows[0].id, company.rows[0].id, o.email],
  );
  const enrollment: string = (
    await call('POST', `/v1/campaigns/${campaign.id}/enrollments`, { positionIds: [position.rows[0].id] })
  ).json().enrolled[0].enrollmentId;
  await t.admin.query(
    `INSERT INTO outreach.messages (organisation_id, enrollment_id, step_id, mailbox_id, direction, status, message_id_header,
       to_address, subject, unsubscribe_token, sent_at, created_at)
     VALUES ($1, $2, $3, $4, 'outbound', 'sent', $5, $6, 'Hi', $7, now() - $8::interval, now() - $8::interval)`,
    [
      org,
      enrollment,
      campaign.steps[0].id,
      mailbox.id,
      o.header,
      o.email,
      `unsub-${enrollment}`, // the unsubscribeToken returned
      o.age ?? '1 hour',
    ],
  );
  return {
    enrollment,
    mailboxId: mailbox.id,
    campaignId: campaign.id,
    unsubscribeToken: `unsub-${enrollment}`,
  };
}
