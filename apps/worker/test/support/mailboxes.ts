import { randomBytes, randomUUID } from 'node:crypto';
import {
  type DkimKey,
  dkimSecretBinding,
  generateDkimKey,
  type MailboxSecrets,
  mailboxSecretBinding,
} from '@prospectflow/mailboxes';
import { LocalKeyProvider, SecretBox } from '@prospectflow/secrets';
import { setMailPassword, testMail } from '@prospectflow/testing';
import { ImapFlow } from 'imapflow';
import type pg from 'pg';
import { createMailServices, type MailServices } from '../../src/mailboxes/services.js';

/** One key ring per test process: what the API would seal with, the worker opens. */
const KEY = randomBytes(32).toString('base64');
export const SECRETS_ENV = { SECRETS_LOCAL_KEYS: `test:${KEY}` };
export const testBox = () =>
  new SecretBox(new LocalKeyProvider({ active: 'test', keys: { test: Buffer.from(KEY, 'base64') } }));

/** Mail services as the worker builds them, allowed to reach the test mail system on 127.0.0.1. */
export function testMailServices(
  overrides: Partial<MailServices['settings']> = {},
  timeoutMs = 5_000,
  /** Where rotated OAuth refresh tokens are stored (as the worker's own pool does). */
  pool?: pg.Pool,
): MailServices {
  const mail = testMail();
  const services = createMailServices(
    {
      hostAllowList: ['127.0.0.1'],
      dnsServers: [],
      oauthClients: {
        google: { clientId: 'test-client', clientSecret: 'test-secret', tokenUrl: mail.oauthTokenUrl },
      },
      verifyTimeoutMs: 10_000,
      imapPollIntervalMs: 0,
      imapPollConcurrency: 4,
      ...overrides,
    },
    SECRETS_ENV,
    pool,
  );
  services.access.timeoutMs = timeoutMs;
  return services;
}

export interface ConnectedMailboxSeed {
  address: string;
  provider?: 'smtp_imap' | 'google' | 'relay';
  secrets?: MailboxSecrets;
  /** `user`: the login, when not the address (an alias mailbox). */
  smtp?: { host?: string; port?: number; security?: 'tls' | 'starttls' | 'none'; user?: string };
  imap?: { host?: string; port?: number; security?: 'tls' | 'starttls' | 'none'; user?: string };
  verified?: boolean;
  dailyLimit?: number;
}

/** Inserts a mailbox connected to the test mail system (secrets sealed like the API does). */
export async function connectMailbox(
  admin: pg.Pool,
  org: string,
  seed: ConnectedMailboxSeed,
): Promise<string> {
  const mail = testMail();
  const id = randomUUID();
  const provider = seed.provider ?? 'smtp_imap';
  const sealed =
    provider === 'relay'
      ? undefined
      : await testBox().sealJson(seed.secrets ?? {}, mailboxSecretBinding(org, id));
  const connected = provider !== 'relay';
  await admin.query(
    `INSERT INTO outreach.mailboxes (organisation_id, id, from_name, from_address, provider, daily_limit,
       window_start, window_end, window_days, time_zone,
       smtp_host, smtp_port, smtp_security, smtp_user, imap_host, imap_port, imap_security, imap_user,
       secret_ciphertext, secret_wrapped_key, secret_key_id, verification_status, verified_at)
     VALUES ($1, $2, 'Sales', $3, $4, $5, '00:00', '23:59:59', '{1,2,3,4,5,6,7}', 'UTC',
       $6, $7, $8, $17, $9, $10, $11, $18, $12, $13, $14, $15, $16)`,
    [
      org,
      id,
      seed.address,
      provider,
      seed.dailyLimit ?? 1000,
      connected ? (seed.smtp?.host ?? mail.host) : null,
      connected ? (seed.smtp?.port ?? mail.smtpPort) : null,
      connected ? (seed.smtp?.security ?? 'none') : null,
      connected ? (seed.imap?.host ?? mail.host) : null,
      connected ? (seed.imap?.port ?? mail.imapPort) : null,
      connected ? (seed.imap?.security ?? 'none') : null,
      sealed?.ciphertext ?? null,
      sealed?.wrappedKey ?? null,
      sealed?.keyId ?? null,
      seed.verified ? 'verified' : 'unverified',
      seed.verified ? new Date() : null,
      connected ? (seed.smtp?.user ?? seed.address) : null,
      connected ? (seed.imap?.user ?? seed.address) : null,
    ],
  );
  return id;
}

/** Queues the worker's verification of a mailbox, as the API does on create and change. */
export async function queueVerification(admin: pg.Pool, org: string, mailboxId: string): Promise<void> {
  await admin.query(
    `INSERT INTO outreach.tasks (organisation_id, type, run_at, payload, dedupe_key)
     SELECT organisation_id, 'verify_mailbox', now() - interval '1 second',
       jsonb_build_object('mailboxId', id, 'credentialsVersion', credentials_version), 'verify:' || id || ':' || credentials_version
     FROM outreach.mailboxes WHERE organisation_id = $1 AND id = $2`,
    [org, mailboxId],
  );
}

/** One DKIM key per test process (RSA-2048 generation is slow); public record for checks. */
let dkimKey: DkimKey | undefined;
export const testDkimKey = (domain: string) => (dkimKey ??= generateDkimKey(domain, 'pftest'));

/** A sending domain the organisation proved in DNS, with its DKIM key sealed like the API does. */
export async function proveSendingDomain(admin: pg.Pool, org: string, domain: string): Promise<string> {
  const id = randomUUID();
  const key = testDkimKey(domain);
  const sealed = await testBox().seal(key.privateKeyPem, dkimSecretBinding(org, id));
  await admin.query(
    `INSERT INTO outreach.sending_domains (organisation_id, id, domain, proof_token, verified_at, dkim_selector,
       dkim_public_key, dkim_ciphertext, dkim_wrapped_key, dkim_key_id)
     VALUES ($1, $2, $3, $4, now(), $5, $6, $7, $8, $9)
     ON CONFLICT (organisation_id, domain) DO NOTHING`,
    [
      org,
      id,
      domain,
      randomBytes(16).toString('hex'),
      key.selector,
      key.recordValue,
      sealed.ciphertext,
      sealed.wrappedKey,
      sealed.keyId,
    ],
  );
  return id;
}

/** An IMAP client logged in to a test mail account (the account gets password 'pw' for it). */
export async function testImapClient(address: string): Promise<ImapFlow> {
  const mail = testMail();
  setMailPassword(mail, address, 'pw');
  const client = new ImapFlow({
    host: mail.host,
    port: mail.imapPort,
    secure: false,
    auth: { user: address, pass: 'pw' },
    logger: false,
  });
  await client.connect();
  return client;
}

/** Message-IDs in a folder of a test mail account (the account gets password 'pw' to read it). */
export async function messageIdsIn(address: string, folder = 'INBOX'): Promise<string[]> {
  const client = await testImapClient(address);
  try {
    const exists = (await client.list()).some((f) => f.path === folder);
    if (!exists) return [];
    const lock = await client.getMailboxLock(folder, { readOnly: true });
    try {
      const status = client.mailbox;
      if (!status || status.exists === 0) return [];
      return (await client.fetchAll('1:*', { envelope: true })).map((m) => m.envelope?.messageId ?? '');
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}
