/**
 * What an inbound mail naming none of our Message-IDs costs the database — most of what reaches a
 * real inbox (newsletters, colleagues, new threads) — as the mailbox's history grows. Each such mail
 * is matched to the mailbox's latest message to its sender (outreach-core's applyInbound, the one
 * path of the IMAP poller and the webhook). Runs `mails` of them from senders never written to, on
 * one worker-role connection under the organisation, with 1,000 earlier messages of the mailbox and
 * again with `history`, and prints wall time and backend CPU per mail and the ratio of the two (≲ 1
 * since migration 1000 matches through an index). In the same run, at `history`, the address
 * match as it was written before 1000 (the address compared under row-level security, where
 * citext's = is no index condition) is timed the same way, for the ratio against it. Run:
 *   pnpm --filter bench inbound-match [mails] [history]
 */
import { applyInbound } from '@prospectflow/outreach-core';
import { backendCpuMs, insertBenchMailbox, pg, prepareWorkerBenchDatabase } from './worker-support.js';

const MAILS = Number(process.argv[2] ?? 200);
const HISTORY = Number(process.argv[3] ?? 50_000);
const SMALL = 1_000;

const db = await prepareWorkerBenchDatabase('inbound', 1);
const admin = new pg.Client({ connectionString: db.adminUrl });
await admin.connect();
const worker = new pg.Client({ connectionString: db.workerUrl });
try {
  const org = db.organisations[0]!;
  const mailbox = await insertBenchMailbox(admin, org);
  /** Earlier messages of the mailbox [from, to), each to its own prospect. */
  const history = async (from: number, to: number) => {
    await admin.query(
      `INSERT INTO outreach.messages (organisation_id, mailbox_id, direction, status, message_id_header, from_address,
         to_address, subject, body_text, created_at, sent_at)
       SELECT $1, $2, 'outbound', 'sent', '<history' || n || '@bench.test>', 'sales@bench.test',
         'prospect' || n || '@prospects.test', 'Hello', 'Hi', t, t
       FROM generate_series($3::int, $4::int - 1) n,
         LATERAL (SELECT now() - (n % 30) * interval '1 day' - (n % 3600) * interval '1 second' AS t) x`,
      [org, mailbox, from, to],
    );
    await admin.query('ANALYZE outreach.messages');
  };

  await worker.connect();
  const pid = (await worker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const inTenant = async (work: () => Promise<unknown>) => {
    await worker.query('BEGIN');
    await worker.query(`SELECT set_config('app.organisation_id', $1, true)`, [org]);
    await work();
    await worker.query('COMMIT');
  };
  /** `MAILS` unmatched mails, each in its own transaction: wall and backend CPU per mail (ms). */
  async function timed(label: string, one: (n: number) => Promise<unknown>) {
    const cpu0 = backendCpuMs([pid]);
    const started = performance.now();
    for (let n = 0; n < MAILS; n++) await inTenant(() => one(n));
    const wall = (performance.now() - started) / MAILS;
    const cpu1 = backendCpuMs([pid]);
    const cpu = cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / MAILS;
    console.log(
      `  ${label}: ${wall.toFixed(3)} ms wall, backend CPU ${cpu === undefined ? 'n/a (server not on this machine)' : `${cpu.toFixed(3)} ms`} per mail`,
    );
    return { wall, cpu };
  }
  const unmatched = (round: string) => async (n: number) => {
    const result = await applyInbound(
      worker,
      {
        kind: 'reply',
        mailboxId: mailbox,
        messageId: `<news-${round}-${n}@letters.test>`,
        references: [],
        from: `News ${n} <news-${round}-${n}@letters.test>`,
        to: 'sales@bench.test',
        subject: 'This week',
        text: 'Hello',
      },
      new Date(),
    );
    if (result.matched) throw new Error('a mail from a sender never written to matched');
  };

  console.log(`PostgreSQL ${db.serverVersion}, ${MAILS} mails naming none of our Message-IDs per run`);
  await history(0, SMALL);
  await timed('warm-up', unmatched('warm'));
  const small = await timed(`applyInbound, ${SMALL} earlier messages`, unmatched('small'));
  await history(SMALL, HISTORY);
  const large = await timed(`applyInbound, ${HISTORY} earlier messages`, unmatched('large'));
  const before = await timed(`the address match before migration 1000, ${HISTORY} earlier messages`, (n) =>
    worker.query(
      `SELECT m.id FROM outreach.messages m
       WHERE m.mailbox_id = $1 AND m.direction = 'outbound' AND m.status IN ('sent', 'bounced')
         AND m.to_address = ANY ($2::citext[])
       ORDER BY m.sent_at DESC NULLS LAST, m.created_at DESC LIMIT 1`,
      [mailbox, [`news-before-${n}@letters.test`]],
    ),
  );
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? 'n/a' : `${(a / b).toFixed(2)}×`;
  console.log(
    `  ${HISTORY} / ${SMALL} earlier messages, per mail: wall ${ratio(large.wall, small.wall)}, backend CPU ${ratio(large.cpu, small.cpu)} (does not grow with the history: ≲ 1)`,
  );
  console.log(
    `  before 1000 / now, at ${HISTORY}: wall ${ratio(before.wall, large.wall)}, backend CPU ${ratio(before.cpu, large.cpu)}`,
  );
} finally {
  await worker.end().catch(() => {});
  await admin.end();
  await db.stop();
}
