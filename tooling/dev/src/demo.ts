import { DevIssuer, loadAuthConfig } from '@prospectflow/auth-core';
import { DEMO_IDS, DEMO_OWNER_EMAIL } from '@prospectflow/db-schema';
import { say, warn } from './logs.js';

/**
 * Points the demo mailbox at this run's local mail system through the API, as a user would (SMTP +
 * IMAP with a password): Dovecot gets fresh ports each run, so this is done before the worker
 * starts, or its IMAP poller would first try the previous run's ports. The API queues a new
 * verification for the worker (see waitForDemoVerification). Resolves true when the API took it.
 */
export async function pointDemoMailbox(
  baseUrl: string,
  env: NodeJS.ProcessEnv,
  mail: { host: string; smtpPort: number; imapPort: number },
  password: string,
): Promise<boolean> {
  const url = `${baseUrl}/v1/mailboxes/${DEMO_IDS.mailbox}`;
  const patched = await fetch(url, {
    method: 'PATCH',
    headers: demoHeaders(env),
    body: JSON.stringify({
      smtp: { host: mail.host, port: mail.smtpPort, security: 'none', password },
      imap: { host: mail.host, port: mail.imapPort, security: 'none', password },
    }),
  });
  if (!patched.ok) {
    warn(`demo mailbox not connected: PATCH ${url} answered ${patched.status} ${await patched.text()}`);
    return false;
  }
  say('demo mailbox connected to the local mail system: the worker will verify it (SMTP, IMAP, round trip)');
  return true;
}

/**
 * Waits for the worker's verification of the demo mailbox: login to SMTP and IMAP, a message to
 * itself found in its inbox. Resolves with the verification status ('unverified' when `signal`
 * aborts or after 60 s).
 */
export async function waitForDemoVerification(
  baseUrl: string,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<string> {
  const headers = demoHeaders(env);
  const url = `${baseUrl}/v1/mailboxes/${DEMO_IDS.mailbox}`;
  for (let waited = 0; waited < 60_000; waited += 500) {
    if (signal.aborted) return 'unverified';
    const current = (await (await fetch(url, { headers, signal })).json()) as {
      verification: { status: string; failure: string | null };
    };
    if (current.verification.status === 'verified') {
      say('demo mailbox verified: it logged in to SMTP and IMAP and found its own message in its inbox');
      return 'verified';
    }
    if (current.verification.status === 'failed') {
      warn(`demo mailbox verification failed (${current.verification.failure}): GET ${url} shows each step`);
      return 'failed';
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  warn('demo mailbox still not verified after 60 s');
  return 'unverified';
}

function demoHeaders(env: NodeJS.ProcessEnv): Record<string, string> {
  const token = DevIssuer.fromConfig(loadAuthConfig({ ...env, AUTH_MODE: 'dev' }), env).mint({
    email: DEMO_OWNER_EMAIL,
    type: 'access',
  });
  return {
    authorization: `Bearer ${token}`,
    'x-organisation-id': DEMO_IDS.organisation,
    'content-type': 'application/json',
  };
}

/**
 * First start only: enrol the demo list in the demo campaign and activate it through the API,
 * as a user would, so the worker sends its first step through the demo mailbox straight away.
 * Resolves true when it activated the campaign (false: already started, or it could not).
 */
export async function startDemoCampaign(baseUrl: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const headers = demoHeaders(env);
  const campaignUrl = `${baseUrl}/v1/campaigns/${DEMO_IDS.campaign}`;
  const campaign = await fetch(campaignUrl, { headers });
  if (!campaign.ok) {
    warn(`demo campaign not started: GET ${campaignUrl} answered ${campaign.status}`);
    return false;
  }
  const { status } = (await campaign.json()) as { status: string };
  if (status !== 'draft') return false;
  const enrolled = await fetch(`${campaignUrl}/enrollments`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ filter: { listName: 'Demo list' } }),
  });
  const activated = await fetch(`${campaignUrl}/activate`, { method: 'POST', headers, body: '{}' });
  if (!enrolled.ok || !activated.ok) {
    warn(`demo campaign not started: enrol ${enrolled.status}, activate ${activated.status}`);
    return false;
  }
  say(
    'demo campaign activated: its first emails leave through the demo mailbox within seconds (copies in its Sent folder)',
  );
  return true;
}

/**
 * After the first start: waits (in the background, until `signal` aborts) for the replying demo
 * prospect's answer to be read from the demo mailbox's inbox by the worker's IMAP poller, and says
 * so with where to look. Reads the campaign's statistics: `replied` counts an enrollment that
 * became 'replied'.
 */
export async function reportDemoReply(
  baseUrl: string,
  env: NodeJS.ProcessEnv,
  prospect: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  const headers = demoHeaders(env);
  const statsUrl = `${baseUrl}/v1/campaigns/${DEMO_IDS.campaign}/stats`;
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 500));
    if (signal.aborted) return;
    const stats = await fetch(statsUrl, { headers, signal }).catch(() => undefined);
    if (!stats?.ok) continue;
    const { totals } = (await stats.json()) as { totals: { replied: number } };
    if (totals.replied > 0) {
      say(
        `demo reply received: ${prospect} answered, the worker's IMAP poller read it in the demo mailbox's inbox and stopped that sequence (enrollment 'replied'); see GET ${statsUrl} (totals.replied) and GET ${baseUrl}/v1/privacy/subjects?email=${prospect}`,
      );
      return;
    }
  }
  if (!signal.aborted)
    warn(`no demo reply read after ${timeoutMs / 1000} s: look for 'imap poll failed' in the [worker] lines`);
}
