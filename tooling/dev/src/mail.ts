import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEMO_PEOPLE } from '@prospectflow/db-schema';
import { type RunningTestMail, setMailPassword, startTestMail } from '@prospectflow/testing/mail';

/** The demo mailbox's account on the local mail system (a local test password, nothing real). */
export const DEMO_MAILBOX = { address: 'dev@prospectflow.local', password: 'dev-mailbox-password' };

/**
 * The demo prospect who answers: the local SMTP server replies in the thread to every demo email
 * sent to her, so the newcomer sees a reply reach the demo mailbox's inbox and stop her sequence.
 * The other two never answer (their sequences carry on).
 */
export const REPLYING_PROSPECT = DEMO_PEOPLE[0];

/**
 * How often the worker reads the demo mailbox's inbox under `pnpm dev` (IMAP_POLL_INTERVAL_MS;
 * production's default is 60 s): short, so the reply shows within seconds of the first send.
 */
export const DEV_IMAP_POLL_INTERVAL_MS = 3000;

/**
 * The local mail system for `pnpm dev`: Dovecot (IMAP) and an SMTP server delivering into it,
 * the same ones the tests use, fresh for each run. The demo mailbox gets its account here, and
 * the server answers mail to REPLYING_PROSPECT (development only: nothing real is ever answered).
 */
export async function startDevMail(): Promise<RunningTestMail> {
  const mail = await startTestMail(undefined, { answering: [REPLYING_PROSPECT.email] });
  setMailPassword(mail, DEMO_MAILBOX.address, DEMO_MAILBOX.password);
  return mail;
}

/**
 * The key ring that seals mailbox credentials in development: a random key kept in the data
 * directory (mode 0600), created on first start. SECRETS_* in the environment win.
 */
export function devSecretsEnv(dataDir: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.SECRETS_PROVIDER || env.SECRETS_LOCAL_KEYS || env.SECRETS_KEY_FILE) return {};
  const file = path.join(dataDir, 'dev-secrets.json');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dataDir, { recursive: true });
    const keys = { dev1: randomBytes(32).toString('base64') };
    fs.writeFileSync(file, `${JSON.stringify({ active: 'dev1', keys }, null, 2)}\n`, { mode: 0o600 });
  }
  return { SECRETS_KEY_FILE: file };
}
