import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_SENT, RESERVE_OUTBOUND_MESSAGE, SEND_STEP_STATE } from '../src/outreach/send/statements.js';
import {
  createCampaign,
  createMailbox,
  createOrg,
  createPositions,
  enroll,
  openTestDb,
  type TestDb,
} from './support/db.js';

// Migrations 0890 and 0971: the state reads, reservations and sent-recordings of several
// organisations in one statement,
// each call run under its own organisation. Checked here: the calls' jsonb columns are the single
// functions' parameters, each call sees only its own organisation, and nothing after the batch
// runs with an organisation set.
describe('cross-organisation send batches (app.send_step_states, app.reserve_outbound_messages, app.record_sents)', () => {
  let t: TestDb;
  let worker: pg.Pool;
  const seeds: { org: string; enrollment: string; step: string; mailbox: string; address: string }[] = [];

  beforeAll(async () => {
    t = await openTestDb('send-batches');
    worker = new pg.Pool({ connectionString: t.workerUrl, max: 2 });
    for (const slug of ['batch-a', 'batch-b']) {
      const org = await createOrg(t.admin, slug);
      const mailbox = await createMailbox(t.admin, org, { address: `sales@${slug}.test` });
      const campaign = await createCampaign(t.admin, org, mailbox, [
        { delayDays: 0, subject: 'Hi', body: 'Hello' },
      ]);
      const [position] = await createPositions(t.admin, org, [{ email: `p@${slug}-prospects.test` }]);
      const [enrollment] = await enroll(t.admin, org, campaign.id, [position!], new Date());
      seeds.push({
        org,
        enrollment: enrollment!,
        step: campaign.steps[0]!.id,
        mailbox,
        address: `sales@${slug}.test`,
      });
    }
  });
  afterAll(async () => {
    await worker?.end();
    await t?.close();
  });

  it('the calls carry the single functions’ parameters, by name and type, in order', async () => {
    const def = async (name: string) =>
      (await t.admin.query<{ d: string }>(`SELECT pg_get_functiondef($1::regproc) AS d`, [name])).rows[0]!.d;
    const columns = (params: readonly (readonly [string, string, string?])[]) => [
      'i integer',
      'organisation uuid',
      ...params.map(([n, type]) => `${n} ${type === 'timestamp with time zone' ? 'timestamptz' : type}`),
    ];
    const state = SEND_STEP_STATE.params.filter(([n]) => n !== 'lock');
    const record = RECORD_SENT.params.filter(([n]) => n !== 'organisation');
    for (const [fn, params] of [
      ['app.send_step_states', state],
      ['app.reserve_outbound_messages', RESERVE_OUTBOUND_MESSAGE.params],
      ['app.record_sents', record],
    ] as const) {
      const text = (await def(fn)).replace(/\s+/g, ' ');
      const list = text
        .match(/AS x\(([^)]*)\)/)?.[1]
        ?.split(', ')
        .map((column) => column.replace(/"/g, ''));
      expect(list, fn).toEqual(columns(params));
    }
  });

  it('each call reads under its own organisation; a call naming another organisation finds nothing', async () => {
    const [a, b] = seeds as [(typeof seeds)[0], (typeof seeds)[0]];
    const calls = [
      { i: 0, organisation: a.org, enrollment: a.enrollment, step: a.step },
      { i: 1, organisation: b.org, enrollment: b.enrollment, step: b.step },
      // B's enrollment under A's organisation: RLS hides it.
      { i: 2, organisation: a.org, enrollment: b.enrollment, step: b.step },
    ];
    const { rows } = await worker.query(
      'SELECT batch_index, id, campaign_id FROM app.send_step_states($1::jsonb)',
      [JSON.stringify(calls)],
    );
    expect(rows.map((r) => [r.batch_index, r.id])).toEqual([
      [0, a.enrollment],
      [1, b.enrollment],
    ]);
  });

  it('each reservation runs under its own organisation; one naming another organisation reserves nothing', async () => {
    const [a, b] = seeds as [(typeof seeds)[0], (typeof seeds)[0]];
    const call = (i: number, organisation: string, s: (typeof seeds)[0]) => ({
      i,
      organisation,
      enrollment: s.enrollment,
      step: s.step,
      variant: null,
      mailbox: s.mailbox,
      message_id_header: `<batch-${i}-${s.enrollment}@batch.test>`,
      in_reply_to: null,
      references: [],
      from: s.address,
      to: `p${i}@batch-prospects.test`,
      subject: 'Hi',
      body_text: 'Hello',
      body_html: '<div>Hello</div>',
      unsubscribe_token: `batch-unsubscribe-token-${i}-${s.enrollment}`,
      now: new Date(),
      pixel_token: null,
      day_start: new Date(Date.now() - 3600_000),
      day_end: new Date(Date.now() + 3600_000),
      exit_on_reply: true,
      store_assignment: false,
    });
    const client = await worker.connect();
    try {
      await client.query('BEGIN');
      // B's enrollment and mailbox under A's organisation: RLS hides both, nothing is reserved.
      const { rows } = await client.query(
        'SELECT batch_index, mailbox_status, message_row_id FROM app.reserve_outbound_messages($1::jsonb) ORDER BY batch_index',
        [JSON.stringify([call(0, a.org, a), call(1, b.org, b), call(2, a.org, b)])],
      );
      expect(rows.map((r) => [r.batch_index, r.mailbox_status, r.message_row_id !== null])).toEqual([
        [0, 'active', true],
        [1, 'active', true],
        [2, null, false],
      ]);
      // And no organisation is left set for the rest of the transaction.
      await expect(client.query('SELECT count(*) FROM outreach.campaign_enrollments')).rejects.toMatchObject({
        code: 'PF001',
      });
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('no organisation is left set after the batch: the next statement of its transaction fails closed', async () => {
    const [a] = seeds;
    const client = await worker.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT * FROM app.send_step_states($1::jsonb)', [
        JSON.stringify([{ i: 0, organisation: a!.org, enrollment: a!.enrollment, step: a!.step }]),
      ]);
      await expect(client.query('SELECT count(*) FROM outreach.campaign_enrollments')).rejects.toMatchObject({
        code: 'PF001',
      });
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
