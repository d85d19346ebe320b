import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { SecretBox } from '@prospectflow/secrets';
import { ImapFlow } from 'imapflow';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Pool } from 'pg';
import { PermanentError, ReleasedError, RetryableError } from '../queue/errors.js';
import { inTenant } from '../queue/sql.js';
import type { TaskContext, TaskHandler } from '../queue/types.js';
import { loadAccount, type MailboxAccount } from './account.js';
import { imapOptions, type MailAccess, smtpOptions } from './connect.js';
import { describeFailure, type StepFailure, secretsFailure } from './failures.js';
import { parseHeaders } from './headers.js';

export interface VerifyDeps {
  box: SecretBox | undefined;
  access: MailAccess;
  /** How long the self-addressed message may take to show up in the inbox (default 120 s). */
  roundTripTimeoutMs?: number;
  /** Pause between IMAP searches for it (default 1 s). */
  searchIntervalMs?: number;
}

type StepName = 'secrets' | 'smtp' | 'imap' | 'roundtrip' | 'domain';
type StepResult =
  | { ok: true; at: string }
  | ({ ok: false; at: string } & StepFailure)
  | { ok: null; skipped: true };

/** The header carrying the verification token; the poller ignores such messages the mailbox sent itself. */
export const VERIFICATION_HEADER = 'X-ProspectFlow-Verification';

/** Waits `ms`, or less when the signal aborts; no listener stays on the signal either way. */
const sleep = (ms: number, signal: AbortSignal) => delay(ms, undefined, { signal }).catch(() => {});

/**
 * verify_mailbox: a new or changed mailbox is used only after the worker logged in to its SMTP and
 * IMAP servers, sent a message from the mailbox to itself and found it (by its token) in the inbox.
 * Each step's outcome is stored on the mailbox with the server's answer; a result for credentials
 * that changed meanwhile is dropped (the newer version has its own task).
 */
export function verifyMailbox(deps: VerifyDeps): TaskHandler {
  return async (ctx) => {
    const mailboxId = String(ctx.task.payload.mailboxId ?? '');
    const version = Number(ctx.task.payload.credentialsVersion);
    if (!mailboxId || !Number.isInteger(version))
      throw new PermanentError('verify_mailbox needs mailboxId and credentialsVersion');
    let account: MailboxAccount | undefined;
    try {
      account = await inTenant(ctx.pool, ctx.task.organisation_id, async (client) => {
        const found = await loadAccount(client, mailboxId, deps.box);
        // A re-check of a verified mailbox keeps it usable until the result (verified_at stays set).
        if (found?.credentialsVersion === version)
          await client.query(
            `UPDATE outreach.mailboxes SET verification_status = 'verifying'
             WHERE id = $1 AND verification_status <> 'verified'`,
            [mailboxId],
          );
        return found;
      });
    } catch (error) {
      const unopened = secretsFailure(error);
      if (!unopened) throw error;
      // Shown on the mailbox like any failed step: retrying cannot open them.
      await record(ctx, mailboxId, version, { secrets: { ok: false, at: now(), ...unopened } });
      return;
    }
    if (!account || account.credentialsVersion !== version) {
      await inTenant(ctx.pool, ctx.task.organisation_id, (c) =>
        ctx.complete(c, 'superseded: mailbox gone or changed'),
      );
      return;
    }
    const steps =
      account.provider === 'relay'
        ? { domain: await domainStep(ctx.pool, account) }
        : await connectionSteps(account, deps, ctx.signal);
    // The provider's token endpoint is down, not the mailbox: check again later (a verified
    // mailbox stays usable meanwhile); only the last attempt records the failure.
    const providerDown = Object.values(steps).some((s) => s.ok === false && s.kind === 'oauth_unavailable');
    if (providerDown && ctx.task.attempts < ctx.task.max_attempts)
      throw new RetryableError(`OAuth provider unavailable: ${firstFailure(steps)}`);
    await record(ctx, mailboxId, version, steps);
  };
}

/** Stores the steps' outcome on the mailbox (if its credentials are still those checked) and completes the task. */
async function record(
  ctx: TaskContext,
  mailboxId: string,
  version: number,
  steps: Partial<Record<StepName, StepResult>>,
): Promise<void> {
  const ok = Object.values(steps).every((s) => s.ok);
  await inTenant(ctx.pool, ctx.task.organisation_id, async (client) => {
    await client.query(
      `UPDATE outreach.mailboxes SET verification = $3::jsonb,
         verification_status = CASE WHEN $4 THEN 'verified' ELSE 'failed' END,
         verified_at = CASE WHEN $4 THEN now() END,
         last_error_code = CASE WHEN $4 THEN NULL ELSE $5 END,
         status = CASE WHEN $4 AND status = 'error' THEN 'active' ELSE status END
       WHERE id = $1 AND credentials_version = $2`,
      [mailboxId, version, JSON.stringify(steps), ok, firstFailure(steps)],
    );
    // Sends that waited for this mailbox (unverified, or in error until now) go out without waiting for their snooze.
    if (ok) await client.query('SELECT app.wake_mailbox_sends($1)', [mailboxId]);
    await ctx.complete(
      client,
      ok ? 'mailbox verified' : `mailbox verification failed: ${firstFailure(steps)}`,
    );
  });
  ctx.log.info({ mailboxId, ok, failure: firstFailure(steps) }, 'mailbox verification finished');
}

function firstFailure(steps: Partial<Record<StepName, StepResult>>): string | null {
  for (const [name, step] of Object.entries(steps)) if (step.ok === false) return `${name}:${step.kind}`;
  return null;
}

const now = () => new Date().toISOString();
const failed = (error: unknown): StepResult => ({ ok: false, at: now(), ...describeFailure(error) });

/** Relay mailboxes: their domain must be proved in DNS (and have its DKIM key) — nothing to log in to. */
async function domainStep(pool: Pool, account: MailboxAccount): Promise<StepResult> {
  const domain = account.fromAddress.split('@')[1]!;
  const proved = await inTenant(pool, account.organisationId, async (client) => {
    const { rows } = await client.query(
      `SELECT 1 FROM outreach.sending_domains WHERE domain = $1 AND verified_at IS NOT NULL`,
      [domain],
    );
    return rows.length > 0;
  });
  return proved
    ? { ok: true, at: now() }
    : {
        ok: false,
        at: now(),
        kind: 'domain_not_proved',
        answer: `${domain} is not proved (DNS TXT _prospectflow.${domain})`,
      };
}

type ConnectionSteps = Record<'smtp' | 'imap' | 'roundtrip', StepResult>;

/**
 * The three steps, bounded as a whole: a server that answers a byte at a time is never idle, so no
 * socket timeout ends it, and the check (a task slot of the worker) would wait forever. Past the
 * round trip's wait plus a connection timeout per step, the connections are cut and the step
 * under way fails as `timeout`.
 */
async function connectionSteps(
  account: MailboxAccount,
  deps: VerifyDeps,
  signal: AbortSignal,
): Promise<ConnectionSteps> {
  const skipped = { ok: null, skipped: true } as const;
  const result: ConnectionSteps = { smtp: skipped, imap: skipped, roundtrip: skipped };
  const open: OpenConnections = {};
  const limitMs = (deps.roundTripTimeoutMs ?? 120_000) + 3 * (deps.access.timeoutMs ?? 30_000);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), limitMs);
  });
  try {
    const outcome = await Promise.race([runSteps(account, deps, signal, result, open), deadline]);
    if (outcome !== 'timeout') return outcome;
    const pending = (['smtp', 'imap', 'roundtrip'] as const).find((step) => result[step].ok === null)!;
    return {
      ...result,
      [pending]: {
        ok: false,
        at: now(),
        kind: 'timeout',
        answer: `the server did not finish answering within ${Math.round(limitMs / 1000)} s: the connection was cut`,
      },
    };
  } finally {
    clearTimeout(timer);
    open.transport?.close();
    open.imap?.close();
  }
}

interface OpenConnections {
  transport?: Transporter;
  imap?: ImapFlow;
}

async function runSteps(
  account: MailboxAccount,
  deps: VerifyDeps,
  signal: AbortSignal,
  result: ConnectionSteps,
  open: OpenConnections,
): Promise<ConnectionSteps> {
  // A transport of its own (not the send pool): verification must not reuse a pool built from older settings.
  let transport: Transporter | undefined;
  let imap: ImapFlow | undefined;
  try {
    try {
      transport = nodemailer.createTransport({
        ...(await smtpOptions(account, deps.access)),
        pool: false,
        // Log in even when the server offers no AUTH (nodemailer would skip it): a server that
        // relays for anyone proves nothing about the credentials.
        forceAuth: true,
      } as never);
      open.transport = transport;
      await transport.verify();
      result.smtp = { ok: true, at: now() };
    } catch (error) {
      result.smtp = failed(error);
    }
    try {
      imap = new ImapFlow(await imapOptions(account, deps.access));
      open.imap = imap;
      imap.on('error', () => {});
      await imap.connect();
      result.imap = { ok: true, at: now() };
    } catch (error) {
      result.imap = failed(error);
      imap = undefined;
    }
    if (!result.smtp.ok || !result.imap.ok || !transport || !imap) return { ...result };
    result.roundtrip = await roundTrip(account, transport, imap, deps, signal);
    return { ...result };
  } finally {
    transport?.close();
    await imap?.logout().catch(() => {});
  }
}

/**
 * The INBOX messages (UIDs) whose verification header is exactly `token`. SEARCH only proposes
 * them: a server's answer to SEARCH costs it nothing (one that answers every search with a hit
 * would verify an address whose mail it never received), the header it returns must carry the
 * token, which only the message we sent holds.
 */
async function carryingToken(imap: ImapFlow, token: string): Promise<number[]> {
  const header = VERIFICATION_HEADER.toLowerCase();
  const uids = (await imap.search({ header: { [header]: token } }, { uid: true })) || [];
  if (!uids.length) return [];
  const messages = await imap.fetchAll(uids, { uid: true, headers: [header] }, { uid: true });
  return messages.filter((m) => parseHeaders(m.headers).get(header) === token).map((m) => m.uid);
}

async function roundTrip(
  account: MailboxAccount,
  transport: Transporter,
  imap: ImapFlow,
  deps: VerifyDeps,
  signal: AbortSignal,
): Promise<StepResult> {
  const token = randomBytes(16).toString('hex');
  try {
    await transport.sendMail({
      from: { name: account.fromName, address: account.fromAddress },
      to: account.fromAddress,
      subject: `ProspectFlow mailbox check ${token.slice(0, 8)}`,
      text: `This message checks that ProspectFlow can send from and read ${account.fromAddress}. You can delete it.\n\nToken: ${token}\n`,
      headers: { [VERIFICATION_HEADER]: token, 'Auto-Submitted': 'auto-generated' },
    });
  } catch (error) {
    return failed(error);
  }
  const deadline = Date.now() + (deps.roundTripTimeoutMs ?? 120_000);
  try {
    while (!signal.aborted) {
      const lock = await imap.getMailboxLock('INBOX');
      try {
        const found = await carryingToken(imap, token);
        if (found.length) {
          // Found: tidy the user's inbox (the Sent copy stays, as any sent message would).
          await imap.messageDelete(found, { uid: true }).catch(() => {});
          return { ok: true, at: now() };
        }
      } finally {
        lock.release();
      }
      if (Date.now() >= deadline) break;
      await sleep(deps.searchIntervalMs ?? 1_000, signal);
    }
  } catch (error) {
    return failed(error);
  }
  // Shutdown, not the mailbox: the check is handed back (attempt refunded) and runs again.
  if (signal.aborted) throw new ReleasedError('shutdown while waiting for the verification message');
  return {
    ok: false,
    at: now(),
    kind: 'not_delivered',
    answer: `the message sent to ${account.fromAddress} did not reach its INBOX within ${Math.round((deps.roundTripTimeoutMs ?? 120_000) / 1000)} s`,
  };
}
