/**
 * IMAP cost of connected mailboxes against a real Dovecot (the test mail system): round trips
 * (IMAP commands) and time per mailbox per poll of the worker's poller, per minute at the poll
 * interval, against the least a poll can do with imapflow (login, SELECT INBOX, one UID FETCH of
 * the new range, logout) measured the same way in the same run; and the cost of one Sent-folder
 * check (the resend-window close). Run:
 *   pnpm --filter bench imap-poll [mailboxes] [rounds] [intervalMs]
 */

import { randomBytes } from 'node:crypto';
import * as secrets from '@prospectflow/secrets';
import * as testing from '@prospectflow/testing';
import {
  createLogger,
  createMailServices,
  findInSent,
  imapOptions,
  inTenant,
  loadAccount,
  MailboxPoller,
  mailboxSecretBinding,
} from '@prospectflow/worker/bench';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { pg, prepareWorkerBenchDatabase } from './worker-support.js';

const MAILBOXES = Number(process.argv[2] ?? 10);
const ROUNDS = Number(process.argv[3] ?? 5);
const INTERVAL_MS = Number(process.argv[4] ?? 60_000);

const mail = await testing.startTestMail();
const KEY = randomBytes(32);
const box = new secrets.SecretBox(new secrets.LocalKeyProvider({ active: 'bench', keys: { bench: KEY } }));
const services = createMailServices(
  {
    hostAllowList: ['127.0.0.1'],
    dnsServers: [],
    oauthClients: {},
    verifyTimeoutMs: 10_000,
    imapPollIntervalMs: 0,
    imapPollConcurrency: 4,
  },
  { SECRETS_LOCAL_KEYS: `bench:${KEY.toString('base64')}` },
);
const db = await prepareWorkerBenchDatabase('imap', 1);
const org = db.organisations[0]!;
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
const pool = new pg.Pool({ connectionString: db.workerUrl, max: 6 });
for (const p of [admin, pool]) p.on('error', () => {});

/** imapflow's exec() counted: every IMAP command is one round trip. */
function counted(client: InstanceType<typeof ImapFlow>) {
  let n = 0;
  const c = client as unknown as { exec: (...a: unknown[]) => Promise<unknown> };
  const exec = c.exec.bind(client);
  c.exec = (...a) => {
    n += 1;
    return exec(...a);
  };
  return () => n;
}

try {
  const addresses = Array.from({ length: MAILBOXES }, (_, i) => `poll${i}@bench.test`);
  const ids: string[] = [];
  for (const address of addresses) {
    testing.setMailPassword(mail, address, 'pw');
    const id = crypto.randomUUID();
    const sealed = await box.sealJson(
      { smtpPassword: 'pw', imapPassword: 'pw' },
      mailboxSecretBinding(org, id),
    );
    await admin.query(
      `INSERT INTO outreach.mailboxes (organisation_id, id, from_name, from_address, provider, smtp_host, smtp_port, smtp_security, smtp_user,
         imap_host, imap_port, imap_security, imap_user, secret_ciphertext, secret_wrapped_key, secret_key_id, verification_status, verified_at)
       VALUES ($1, $2, 'Bench', $3, 'smtp_imap', '127.0.0.1', $4, 'none', $9, '127.0.0.1', $5, 'none', $9, $6, $7, $8, 'verified', now())`,
      [
        org,
        id,
        address,
        mail.smtpPort,
        mail.imapPort,
        sealed.ciphertext,
        sealed.wrappedKey,
        sealed.keyId,
        address,
      ],
    );
    ids.push(id);
  }
  const smtp = nodemailer.createTransport({
    host: mail.host,
    port: mail.smtpPort,
    ignoreTLS: true,
    auth: { user: addresses[0]!, pass: 'pw' },
  });
  const deliver = async () => {
    // Two new messages for every mailbox between polls (replies arriving).
    for (const to of addresses)
      for (let k = 0; k < 2; k++)
        await smtp.sendMail({
          from: addresses[0],
          to,
          subject: 'Re: hello',
          text: 'Thanks!',
          messageId: `<${randomBytes(8).toString('hex')}@bench.test>`,
        });
  };
  const poller = new MailboxPoller({
    pool,
    mail: services,
    log: createLogger('error'),
    apply: async () => {},
    intervalMs: INTERVAL_MS,
    concurrency: 4,
  });

  const ours = { trips: 0, ms: 0, polls: 0, read: 0 };
  const bare = { trips: 0, ms: 0, polls: 0 };
  const lastUid = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) await deliver();
    let t = performance.now();
    const results = await poller.pollAll();
    ours.ms += performance.now() - t;
    for (const r of results) {
      if (r.error) throw new Error(`poll of ${r.mailboxId} failed: ${r.error}`);
      ours.trips += r.roundTrips;
      ours.read += r.read;
      ours.polls += 1;
    }
    // The least a poll does: login, SELECT, one UID FETCH of the new range, logout.
    t = performance.now();
    for (const id of ids) {
      const account = (await inTenant(pool, org, (c) => loadAccount(c, id, services.box)))!;
      const client = new ImapFlow(await imapOptions(account, services.access));
      const trips = counted(client);
      await client.connect();
      const lock = await client.getMailboxLock('INBOX');
      try {
        const from = (lastUid.get(id) ?? 0) + 1;
        const got = await client.fetchAll(`${from}:*`, { uid: true, envelope: true }, { uid: true });
        const max = Math.max(from - 1, ...got.map((m) => m.uid));
        lastUid.set(id, max);
      } finally {
        lock.release();
      }
      await client.logout();
      bare.trips += trips();
      bare.polls += 1;
    }
    bare.ms += performance.now() - t;
  }
  // One Sent-folder check (the resend-window close), on the first mailbox.
  const account = (await inTenant(pool, org, (c) => loadAccount(c, ids[0]!, services.box)))!;
  const check = await findInSent(account, services.access, `<${randomBytes(8).toString('hex')}@bench.test>`);
  const perMinute = 60_000 / INTERVAL_MS;
  const tripsPerPoll = ours.trips / ours.polls;
  const bareTrips = bare.trips / bare.polls;
  console.log(
    `Dovecot ${MAILBOXES} mailboxes × ${ROUNDS} polls (2 new messages per mailbox between polls; ${ours.read} read):`,
  );
  console.log(
    `  poller: ${tripsPerPoll.toFixed(1)} round trips per mailbox per poll → ${(tripsPerPoll * perMinute).toFixed(1)} per mailbox per minute at ${INTERVAL_MS} ms; ${(ours.ms / ours.polls).toFixed(1)} ms per mailbox-poll (4 at a time)`,
  );
  console.log(
    `  bare imapflow poll: ${bareTrips.toFixed(1)} round trips, ${(bare.ms / bare.polls).toFixed(1)} ms per mailbox-poll (one at a time) → ratio round trips ${(tripsPerPoll / bareTrips).toFixed(2)}`,
  );
  console.log(`  Sent-folder check (resend of a possibly-sent reservation): ${check.roundTrips} round trips`);
  smtp.close();
} finally {
  await pool.end();
  await admin.end();
  await db.stop();
  await mail.stop();
}
