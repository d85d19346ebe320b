/**
 * End-to-end sends through connected mailboxes vs nodemailer alone, same run, same SMTP server.
 * Target: ratio ≥ 0.5 (ours / nodemailer alone). Run:
 *   pnpm --filter bench worker-smtp [messages] [slots] [rounds]
 *
 * - The SMTP server: smtp-server in this process, AUTH PLAIN required (like a provider's
 *   submission port), counting accepted messages. Its CPU counts against both sides equally.
 * - Ours: send_step tasks → read, decide, compose, reserve, send through each mailbox's own pooled
 *   transport (credentials opened from their sealed form once per pool, 2 connections per
 *   mailbox), outcome recorded. One verified smtp_imap mailbox per organisation.
 * - Baseline: nodemailer alone — the same number of messages with the same headers and bodies,
 *   one pooled transport per mailbox with the same options (2 connections), `slots` sends in flight.
 * - The database is VACUUMed and ANALYZEd before each run of ours (autovacuum may be off on a test
 *   server).
 * - Warmed up: one untimed run of each side first.
 * - Interleaved: `rounds` rounds of baseline then ours (default 5). The ratio printed is the median
 *   of the per-round ratios (each round's two runs saw about the same load on the shared machine),
 *   beside the ratio of the two sides' medians. The clock stops when the server has every message;
 *   the count recorded as sent is checked after the worker stopped.
 * - CPU per message, for each side: this process (SMTP client and server, and for ours the worker),
 *   from process.cpuUsage over the timed run; for ours also PostgreSQL's backends of the worker's
 *   pool (from /proc, when the server runs on this machine) and the transactions the database
 *   committed per message. These move far less with the machine's load than the rates do.
 */

import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as secrets from '@prospectflow/secrets';
import {
  createLogger,
  createMailServices,
  createSmtpMailer,
  mailboxSecretBinding,
  outreachHandlers,
  systemClock,
  Worker,
} from '@prospectflow/worker/bench';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { backendCpuMs, median, pg, prepareWorkerBenchDatabase } from './worker-support.js';

const MESSAGES = Number(process.argv[2] ?? 2000);
const SLOTS = Number(process.argv[3] ?? 16);
const ROUNDS = Number(process.argv[4] ?? 5);
const ORGS = 10;
const CONNECTIONS_PER_MAILBOX = 2;

let received = 0;
const server = new SMTPServer({
  logger: false,
  disableReverseLookup: true,
  disabledCommands: ['STARTTLS'],
  allowInsecureAuth: true,
  authMethods: ['PLAIN', 'LOGIN'],
  onAuth(auth, _session, callback) {
    if (auth.password === 'bench-pw') return callback(null, { user: auth.username });
    callback(Object.assign(new Error('5.7.8 bad credentials'), { responseCode: 535 }));
  },
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      received += 1;
      callback();
    });
  },
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.server.address() as AddressInfo).port;

const KEY = randomBytes(32);
const env = { SECRETS_LOCAL_KEYS: `bench:${KEY.toString('base64')}` };
const box = new secrets.SecretBox(new secrets.LocalKeyProvider({ active: 'bench', keys: { bench: KEY } }));
const db = await prepareWorkerBenchDatabase('smtp', ORGS);
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 4 });
// pool.end() resolves before the server has closed every connection; the teardown's DROP DATABASE
// … WITH (FORCE) may then terminate one, which an idle client reports as an 'error' event.
const ignoreTeardownErrors = (p: InstanceType<typeof pg.Pool>) => p.on('error', () => {});
ignoreTeardownErrors(admin);

/** One verified connected mailbox, a one-step campaign and `perOrg` due send tasks per organisation. */
async function seed(perOrg: number): Promise<number> {
  await admin.query(`DELETE FROM outreach.tasks`);
  await admin.query(`DELETE FROM outreach.messages`);
  await admin.query(`DELETE FROM outreach.campaign_enrollments`);
  await admin.query(`DELETE FROM crm.positions`);
  await admin.query(`DELETE FROM crm.people`);
  await admin.query(`DELETE FROM outreach.campaigns`);
  await admin.query(`DELETE FROM outreach.mailboxes`);
  for (const org of db.organisations) {
    const id = crypto.randomUUID();
    const sealed = await box.sealJson(
      { smtpPassword: 'bench-pw', imapPassword: 'bench-pw' },
      mailboxSecretBinding(org, id),
    );
    await admin.query(
      `INSERT INTO outreach.mailboxes (organisation_id, id, from_name, from_address, provider, daily_limit,
         window_start, window_end, window_days, time_zone,
         smtp_host, smtp_port, smtp_security, smtp_user, imap_host, imap_port, imap_security, imap_user,
         secret_ciphertext, secret_wrapped_key, secret_key_id, verification_status, verified_at)
       SELECT $1, $2, 'Bench', 'sales@' || slug || '.test', 'smtp_imap', 10000, '00:00', '23:59:59', '{1,2,3,4,5,6,7}', 'UTC',
         '127.0.0.1', $3, 'none', 'sales@' || slug || '.test', '127.0.0.1', 1, 'none', 'sales@' || slug || '.test',
         $4, $5, $6, 'verified', now()
       FROM iam.organisations WHERE id = $1`,
      [org, id, port, sealed.ciphertext, sealed.wrappedKey, sealed.keyId],
    );
  }
  await admin.query(
    `WITH c AS (
       INSERT INTO outreach.campaigns (organisation_id, name, status, mailbox_id)
       SELECT organisation_id, 'Bench', 'active', id FROM outreach.mailboxes RETURNING organisation_id, id
     ), s AS (
       INSERT INTO outreach.workflow_steps (organisation_id, campaign_id, step_order, delay_days, subject_template, body_template)
       SELECT organisation_id, id, 1, 0, 'Hello {{person.first_name}}', 'Hi {{person.first_name}} at {{company.name}}, a short note.' FROM c RETURNING organisation_id, id, campaign_id
     ), co AS (
       INSERT INTO crm.companies (organisation_id, name) SELECT id, 'Acme ' || slug FROM iam.organisations RETURNING organisation_id, id
     ), ppl AS (
       INSERT INTO crm.people (organisation_id, first_name, last_name, custom)
       SELECT o.id, 'P' || n, 'Doe', jsonb_build_object('n', n) FROM iam.organisations o, generate_series(1, $1::int) n RETURNING organisation_id, id, custom
     ), pos AS (
       INSERT INTO crm.positions (organisation_id, person_id, company_id, email)
       SELECT ppl.organisation_id, ppl.id, co.id, 'p' || (ppl.custom->>'n') || '@' || ppl.organisation_id || '.test'
       FROM ppl JOIN co USING (organisation_id) RETURNING organisation_id, id
     ), en AS (
       INSERT INTO outreach.campaign_enrollments (organisation_id, campaign_id, position_id)
       SELECT pos.organisation_id, c.id, pos.id FROM pos JOIN c USING (organisation_id) RETURNING organisation_id, id, campaign_id
     )
     INSERT INTO outreach.tasks (organisation_id, type, run_at, enrollment_id, step_id, priority)
     SELECT en.organisation_id, 'send_step', now() - interval '1 second', en.id, s.id, 100 FROM en JOIN s USING (campaign_id)`,
    [perOrg],
  );
  // What autovacuum would have done on a deployed database (the shared test server runs with it
  // off): statistics for the freshly seeded tables — without them the send path's reads are planned
  // as if the tables were empty (org-wide index scans that grow with every send) — and the earlier
  // runs' deleted rows cleared, so a round does not pay for the rounds before it.
  await admin.query('VACUUM ANALYZE');
  return Number((await admin.query(`SELECT count(*) AS n FROM outreach.tasks`)).rows[0].n);
}

/** What one run cost per message: this process's CPU, and for ours the database's (undefined: not measurable here). */
interface Cost {
  processMs: number;
  backendMs?: number;
  transactions?: number;
}

const transactionsSoFar = async (): Promise<number> =>
  Number(
    (
      await admin.query(
        `SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()`,
      )
    ).rows[0].n,
  );

async function ours(): Promise<{ rate: number; total: number; sent: number; cost: Cost }> {
  const total = await seed(Math.ceil(MESSAGES / ORGS));
  received = 0;
  const pool = new pg.Pool({ connectionString: db.workerUrl, max: SLOTS + 3 });
  ignoreTeardownErrors(pool);
  const mail = createMailServices(
    {
      hostAllowList: ['127.0.0.1'],
      dnsServers: [],
      oauthClients: {},
      verifyTimeoutMs: 10_000,
      imapPollIntervalMs: 0,
      imapPollConcurrency: 4,
    },
    env,
  );
  const relay = createSmtpMailer({ url: 'smtp://127.0.0.1:1' });
  const worker = new Worker({
    pool,
    clock: systemClock,
    log: createLogger('warn'),
    slots: SLOTS,
    leaseSeconds: 60,
    pollIntervalMs: 200,
    pollOnly: true,
    handlers: outreachHandlers({
      mailer: relay,
      mail,
      publicBaseUrl: 'https://pf.example.test',
      variantSeed: 'b',
    }),
  });
  const transactions0 = await transactionsSoFar();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await worker.start();
  while (received < total) await new Promise((r) => setTimeout(r, 10));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // The pool's backends all started within this run (a new pool per run); read before they close.
  const backends = (
    await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = 'prospectflow_worker'`,
    )
  ).rows.map((r) => r.pid);
  const backendMs = backendCpuMs(backends);
  const transactions = (await transactionsSoFar()) - transactions0 - 1;
  await worker.stop(10_000);
  mail.transports.closeAll();
  relay.close();
  await pool.end();
  const sent = Number(
    (await admin.query(`SELECT count(*) AS n FROM outreach.messages WHERE status = 'sent'`)).rows[0].n,
  );
  return {
    rate: total / seconds,
    total,
    sent,
    cost: {
      processMs: (cpu.user + cpu.system) / 1000 / total,
      backendMs: backendMs === undefined ? undefined : backendMs / total,
      transactions: transactions / total,
    },
  };
}

/** nodemailer alone: the same messages (headers, bodies) from the same mailboxes, `SLOTS` in flight. */
async function baseline(): Promise<{ rate: number; cost: Cost }> {
  const perOrg = Math.ceil(MESSAGES / ORGS);
  const transports = db.organisations.map((_, i) =>
    nodemailer.createTransport({
      pool: true,
      maxConnections: CONNECTIONS_PER_MAILBOX,
      maxMessages: 100,
      host: '127.0.0.1',
      port,
      secure: false,
      ignoreTLS: true,
      auth: { user: `sales@bench-${i + 1}.test`, pass: 'bench-pw' },
    }),
  );
  const jobs = Array.from({ length: perOrg * ORGS }, (_, n) => ({ org: n % ORGS, n }));
  received = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: SLOTS }, async () => {
      for (let job = jobs[next++]; job; job = jobs[next++]) {
        const from = `sales@bench-${job.org + 1}.test`;
        const token = randomBytes(16).toString('base64url');
        const text = `Hi P${job.n} at Acme bench-${job.org + 1}, a short note.`;
        await transports[job.org]!.sendMail({
          from: { name: 'Bench', address: from },
          to: `p${job.n}@${db.organisations[job.org]}.test`,
          subject: `Hello P${job.n}`,
          text,
          html: `<div>${text}</div>\n<img src="https://pf.example.test/t/${token}.gif" width="1" height="1" alt="" style="display:none">`,
          messageId: `<${randomBytes(12).toString('hex')}@bench-${job.org + 1}.test>`,
          headers: {
            'List-Unsubscribe': `<mailto:unsubscribe@bench-${job.org + 1}.test?subject=unsubscribe%20${token}>, <https://pf.example.test/u/${token}>`,
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          },
        });
      }
    }),
  );
  while (received < jobs.length) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const t of transports) t.close();
  return { rate: jobs.length / seconds, cost: { processMs: (cpu.user + cpu.system) / 1000 / jobs.length } };
}

try {
  const runs: { ours: number[]; alone: number[]; sent: string[]; oursCost: Cost[]; aloneCost: Cost[] } = {
    ours: [],
    alone: [],
    sent: [],
    oursCost: [],
    aloneCost: [],
  };
  // One untimed run of each side first: otherwise the first round times both sides' JIT warm-up,
  // which slows nodemailer alone most (1,088–1,210 msg/s in first rounds, 1,350–1,574 after, on a
  // quiet machine) and so flattered the first round's ratio.
  await baseline();
  await ours();
  for (let round = 0; round < ROUNDS; round++) {
    const b = await baseline();
    runs.alone.push(b.rate);
    runs.aloneCost.push(b.cost);
    const r = await ours();
    runs.ours.push(r.rate);
    runs.sent.push(`${r.sent}/${r.total}`);
    runs.oursCost.push(r.cost);
  }
  const ratio = median(runs.ours.map((x, i) => x / runs.alone[i]!));
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' / ');
  console.log(
    `PostgreSQL ${db.serverVersion}, ${ORGS} connected mailboxes (${CONNECTIONS_PER_MAILBOX} SMTP connections each), ${SLOTS} slots, ${MESSAGES} messages a run`,
  );
  console.log(
    `  nodemailer alone: ${fmt(runs.alone)} msg/s; ProspectFlow end to end: ${fmt(runs.ours)} msg/s (recorded sent: ${runs.sent.join(', ')})`,
  );
  console.log(
    `  per-round ratios ${runs.ours.map((x, i) => (x / runs.alone[i]!).toFixed(2)).join(' / ')}; ` +
      `ratio of medians ${(median(runs.ours) / median(runs.alone)).toFixed(2)}`,
  );
  const ms = (xs: (number | undefined)[]) =>
    xs.every((x) => x !== undefined)
      ? xs.map((x) => x!.toFixed(2)).join(' / ')
      : 'n/a (server not on this machine)';
  console.log(
    `  CPU per message (ms): nodemailer alone, this process ${ms(runs.aloneCost.map((c) => c.processMs))}; ` +
      `ProspectFlow, this process ${ms(runs.oursCost.map((c) => c.processMs))}, ` +
      `PostgreSQL backends ${ms(runs.oursCost.map((c) => c.backendMs))}; ` +
      `transactions per message ${ms(runs.oursCost.map((c) => c.transactions))}`,
  );
  console.log(`  median ratio ${ratio.toFixed(2)} (target ≥ 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'})`);
} finally {
  await admin.end();
  await db.stop();
  server.close();
}
