/**
 * PostgreSQL's share of a send with a realistic history: app.send_step_state → app.reserve_outbound_message
 * → app.record_sent for `sends` due enrollments of one organisation and mailbox, one after the other on
 * one worker-role connection (each call its own transaction under the organisation), after `history`
 * earlier outbound messages of that mailbox were written, spread over the last 30 days (so about
 * history/30 of them today). The first half of the sends runs with an empty suppression list, the
 * second after `suppressions` addresses (and a tenth as many domains) were suppressed: the ratio of
 * the two halves is what a long suppression list costs each send (≈ 1 since migration 0998, whose
 * lookups probe the list's unique keys). Prints wall time and the backend's CPU per send (from /proc,
 * when the server runs on this machine) and the wall time of each call, per half. Run:
 *   pnpm --filter bench send-path-sql [sends] [history] [suppressions] [--without-0970] [--without-0998] [--without-1000]
 * `--without-…` applies that migration's undo to the bench database first (1000: the index of
 * outbound messages by recipient, one more entry per message written; 0970:
 * the reservation that counts the day's messages; 0998: the send path's checks that read the whole
 * suppression list under the policy). Undos run newest first, as a rollback would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { backendCpuMs, insertBenchMailbox, pg, prepareWorkerBenchDatabase } from './worker-support.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const SENDS = Number(args[0] ?? 1000);
const HISTORY = Number(args[1] ?? 30000);
const SUPPRESSIONS = Number(args[2] ?? 50000);
const UNDONE = ['1000', '0998', '0970'].filter((m) => process.argv.includes(`--without-${m}`));

const db = await prepareWorkerBenchDatabase('sendsql', 1);
const admin = new pg.Client({ connectionString: db.adminUrl });
await admin.connect();
try {
  const migrations = new URL('../packages/db-schema/migrations/', import.meta.url);
  for (const m of UNDONE) {
    const undo = readdirSync(migrations).find((f) => f.startsWith(`2026010100${m}.undo.`))!;
    await admin.query(readFileSync(new URL(undo, migrations), 'utf8'));
  }
  const org = db.organisations[0]!;
  const mailbox = await insertBenchMailbox(admin, org);
  await admin.query(
    `WITH c AS (
       INSERT INTO outreach.campaigns (organisation_id, name, status, mailbox_id) VALUES ($1, 'Bench', 'active', $2)
       RETURNING organisation_id, id
     ), s AS (
       INSERT INTO outreach.workflow_steps (organisation_id, campaign_id, step_order, delay_days, subject_template, body_template)
       SELECT organisation_id, id, 1, 0, 'Hello', 'Hi' FROM c RETURNING organisation_id, id, campaign_id
     ), co AS (
       INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Acme') RETURNING organisation_id, id
     ), ppl AS (
       INSERT INTO crm.people (organisation_id, first_name, last_name, custom)
       SELECT $1, 'P' || n, 'Doe', jsonb_build_object('n', n) FROM generate_series(1, $3::int) n
       RETURNING organisation_id, id, custom
     ), pos AS (
       INSERT INTO crm.positions (organisation_id, person_id, company_id, email)
       SELECT ppl.organisation_id, ppl.id, co.id, 'p' || (ppl.custom->>'n') || '@prospects.test'
       FROM ppl JOIN co USING (organisation_id) RETURNING organisation_id, id
     ), en AS (
       INSERT INTO outreach.campaign_enrollments (organisation_id, campaign_id, position_id)
       SELECT pos.organisation_id, c.id, pos.id FROM pos JOIN c USING (organisation_id) RETURNING organisation_id, id, campaign_id
     )
     INSERT INTO outreach.tasks (organisation_id, type, run_at, enrollment_id, step_id, priority, status, locked_by, locked_until, attempts)
     SELECT en.organisation_id, 'send_step', now(), en.id, s.id, 100, 'running', 'bench', now() + interval '1 hour', 1
     FROM en JOIN s USING (campaign_id)`,
    [org, mailbox, SENDS],
  );
  // The mailbox's earlier messages: sent, one a day back for each of the last 30 days in turn.
  await admin.query(
    `INSERT INTO outreach.messages (organisation_id, mailbox_id, direction, status, message_id_header, from_address,
       to_address, subject, body_text, created_at, sent_at)
     SELECT $1, $2, 'outbound', 'sent', '<history' || n || '@bench.test>', 'sales@bench.test', 'x@prospects.test', 'Hello', 'Hi', t, t
     FROM generate_series(1, $3::int) n,
       LATERAL (SELECT now() - (n % 30) * interval '1 day' - (n % 3600) * interval '1 second' AS t) x`,
    [org, mailbox, HISTORY],
  );
  await admin.query('ANALYZE');
  const { rows: tasks } = await admin.query(
    `SELECT t.id, t.enrollment_id, t.step_id, e.campaign_id FROM outreach.tasks t
     JOIN outreach.campaign_enrollments e ON e.id = t.enrollment_id ORDER BY t.id`,
  );

  const worker = new pg.Client({ connectionString: db.workerUrl });
  await worker.connect();
  const pid = (await worker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const cpuMs = () => backendCpuMs([pid]);
  const inTenant = async (sql: string, values: unknown[]) => {
    await worker.query('BEGIN');
    await worker.query(`SELECT set_config('app.organisation_id', $1, true)`, [org]);
    const result = await worker.query(sql, values);
    await worker.query('COMMIT');
    return result;
  };
  /** The sends of tasks [from, to), timed per call. */
  async function sends(from: number, to: number) {
    const spent = { read: 0, reserve: 0, record: 0 };
    const cpu0 = cpuMs();
    const started = performance.now();
    for (let i = from; i < to; i++) {
      const task = tasks[i]!;
      let t = performance.now();
      await inTenant('SELECT * FROM app.send_step_state($1, $2, false)', [task.enrollment_id, task.step_id]);
      spent.read += performance.now() - t;
      t = performance.now();
      const now = new Date();
      const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
      const reserved = await inTenant(
        `SELECT * FROM app.reserve_outbound_message($1, $2, NULL, $3, $4, NULL, '{}', 'sales@bench.test', $5, 'Hello', 'Hi',
         '<div>Hi</div>', $6, $7, $8, $9, $10, true, false)`,
        [
          task.enrollment_id,
          task.step_id,
          mailbox,
          `<send${i}@bench.test>`,
          `p${i}@prospects.test`,
          `unsubscribe-${crypto.randomUUID()}`,
          now,
          `pixel-${crypto.randomUUID()}`,
          dayStart,
          new Date(dayStart.getTime() + 86_400_000),
        ],
      );
      spent.reserve += performance.now() - t;
      if (!reserved.rows[0]?.message_row_id) throw new Error(`send ${i} was not reserved`);
      t = performance.now();
      await inTenant(
        `SELECT app.record_sent($1, $2, 'bench', $3, $4, '250 ok', $5, NULL, $6, 1, NULL, NULL, 50::smallint, NULL)`,
        [org, task.id, now, reserved.rows[0].message_row_id, task.campaign_id, task.enrollment_id],
      );
      spent.record += performance.now() - t;
    }
    const wall = performance.now() - started;
    const cpu1 = cpuMs();
    return {
      n: to - from,
      wall,
      cpu: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0,
      spent,
    };
  }

  const half = Math.floor(tasks.length / 2);
  const empty = await sends(0, half);
  await admin.query(
    `INSERT INTO outreach.suppressions (organisation_id, email, reason)
     SELECT $1, 'someone' || n || '@elsewhere' || (n % 997) || '.test', 'unsubscribed' FROM generate_series(1, $2::int) n`,
    [org, SUPPRESSIONS],
  );
  await admin.query(
    `INSERT INTO outreach.suppressions (organisation_id, domain, reason)
     SELECT $1, 'blocked' || n || '.test', 'manual' FROM generate_series(1, $2::int / 10) n`,
    [org, SUPPRESSIONS],
  );
  await admin.query('ANALYZE outreach.suppressions');
  const listed = await sends(half, tasks.length);
  await worker.end();
  const undone = UNDONE.length ? ` (without migration ${UNDONE.join(', ')})` : '';
  console.log(
    `PostgreSQL ${db.serverVersion}, ${SENDS} sends after ${HISTORY} earlier messages of the mailbox${undone}`,
  );
  for (const [label, run] of [
    ['empty suppression list', empty],
    [`${SUPPRESSIONS + Math.floor(SUPPRESSIONS / 10)} suppressions`, listed],
  ] as const) {
    const per = (ms: number) => (ms / run.n).toFixed(2);
    console.log(
      `  ${label}: per send ${per(run.wall)} ms wall, backend CPU ${run.cpu === undefined ? 'n/a (server not on this machine)' : `${per(run.cpu)} ms`}; ` +
        `send_step_state ${per(run.spent.read)} ms, reserve_outbound_message ${per(run.spent.reserve)} ms, record_sent ${per(run.spent.record)} ms`,
    );
  }
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? 'n/a' : (a / listed.n / (b / empty.n)).toFixed(2);
  console.log(
    `  a send with the list / without: wall ${ratio(listed.wall, empty.wall)}×, backend CPU ${ratio(listed.cpu, empty.cpu)}×`,
  );
} finally {
  await admin.end();
  await db.stop();
}
