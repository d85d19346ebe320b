/**
 * End-to-end sends: send_step tasks → checks, reservation, render, pooled SMTP to a local sink,
 * outcome recorded. Target ≥ 500 messages/s. Run:
 *   pnpm --filter @prospectflow/worker exec tsx ../../bench/worker-smtp.ts [messages] [slots]
 *
 * The sink (smtp-server) runs in this process, so its CPU counts against the worker's. The clock
 * starts before worker.start() (connection set-up included) and stops when the sink has every
 * message; the count of messages recorded as sent is checked after the worker stopped.
 * Round trips per send on the fast path: one state read, one reservation, one record (each one
 * statement, shared with other sends of the same organisation in flight) plus a share of the
 * batched claim.
 */
import type { AddressInfo } from 'node:net';
import { systemClock } from '../apps/worker/src/clock.js';
import { outreachHandlers } from '../apps/worker/src/handlers.js';
import { createLogger } from '../apps/worker/src/logger.js';
import { createSmtpMailer } from '../apps/worker/src/outreach/mailer.js';
import { Worker } from '../apps/worker/src/queue/worker.js';
import { importFromWorker, pg, prepareWorkerBenchDatabase } from './worker-support.js';

const MESSAGES = Number(process.argv[2] ?? 2000);
const SLOTS = Number(process.argv[3] ?? 32);
const ORGS = 20;
const { SMTPServer } = await importFromWorker<typeof import('smtp-server')>('smtp-server');

let received = 0;
const sink = new SMTPServer({
  logger: false,
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      received += 1;
      callback();
    });
  },
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
const smtpUrl = `smtp://127.0.0.1:${(sink.server.address() as AddressInfo).port}`;
const db = await prepareWorkerBenchDatabase('smtp', ORGS);
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 4 });
// pool.end() resolves before the server has closed every connection; the teardown's DROP DATABASE
// … WITH (FORCE) may then terminate one, which an idle client reports as an 'error' event.
const ignoreTeardownErrors = (p: InstanceType<typeof pg.Pool>) => p.on('error', () => {});
ignoreTeardownErrors(admin);

try {
  // One mailbox and a one-step campaign per organisation, window open all week.
  await admin.query(
    `WITH mb AS (
       INSERT INTO outreach.mailboxes (organisation_id, from_name, from_address, daily_limit, window_start, window_end, window_days, time_zone)
       SELECT id, 'Bench', 'sales@' || slug || '.test', 10000, '00:00', '23:59:59', '{1,2,3,4,5,6,7}', 'UTC' FROM iam.organisations RETURNING organisation_id, id
     ), c AS (
       INSERT INTO outreach.campaigns (organisation_id, name, status, mailbox_id) SELECT organisation_id, 'Bench', 'active', id FROM mb RETURNING organisation_id, id
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
    [Math.ceil(MESSAGES / ORGS)],
  );
  const total = Number((await admin.query(`SELECT count(*) AS n FROM outreach.tasks`)).rows[0].n);
  const pool = new pg.Pool({ connectionString: db.workerUrl, max: SLOTS + 3 });
  ignoreTeardownErrors(pool);
  const mailer = createSmtpMailer({ url: smtpUrl, maxConnections: 10 });
  const worker = new Worker({
    pool,
    clock: systemClock,
    log: createLogger('warn'),
    slots: SLOTS,
    leaseSeconds: 60,
    pollIntervalMs: 200,
    pollOnly: true,
    handlers: outreachHandlers({ mailer, publicBaseUrl: 'https://pf.example.test', variantSeed: 'bench' }),
  });
  const started = performance.now();
  await worker.start();
  while (received < total) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  await worker.stop(10_000);
  mailer.close();
  await pool.end();
  const sent = Number(
    (await admin.query(`SELECT count(*) AS n FROM outreach.messages WHERE status = 'sent'`)).rows[0].n,
  );
  const rate = total / seconds;
  console.log(
    `PostgreSQL ${db.serverVersion}: ${total} messages (${ORGS} organisations/mailboxes, ${SLOTS} slots, 10 SMTP connections) in ${seconds.toFixed(2)} s → ${rate.toFixed(0)} messages/s (target ≥ 500: ${rate >= 500 ? 'met' : 'NOT met'}); ${sent} recorded as sent`,
  );
} finally {
  await admin.end();
  await db.stop();
  sink.close();
}
