import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { markMailboxVerified } from '../helpers/fixtures.js';
import { signedInbound } from '../helpers/inbound.js';

// Which organisation an inbound webhook mail belongs to (migration 1003): the one of the message it
// answers — In-Reply-To, then References last first, as applyInbound matches — never the
// organisation of the newest message it happens to name.

const SECRET = 'inbound-organisation-secret';
let t: TestApp;
let a: TestUser;
let b: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'inbound-organisation', env: { INBOUND_WEBHOOK_SECRET: SECRET } });
  a = await t.signUp('owner-a@inbound-org.test');
  b = await t.signUp('owner-b@inbound-org.test');
});
afterAll(async () => {
  await t?.close();
});

const call = (user: TestUser, method: 'POST', url: string, payload?: object) =>
  t.request(user, { method, url, ...(payload ? { payload } : {}) });

/** In `user`'s organisation: an active campaign whose step 1 to `email` went out `age` ago as `header`. */
async function sent(user: TestUser, address: string, email: string, header: string, age: string) {
  const org = user.organisationId;
  const mailbox = (await call(user, 'POST', '/v1/mailboxes', { fromName: 'S', fromAddress: address })).json();
  await markMailboxVerified(t.admin, mailbox.id);
  const campaign = (
    await call(user, 'POST', '/v1/campaigns', {
      name: `C ${header}`,
      mailboxId: mailbox.id,
      steps: [{ delayDays: 0, subject: 'Hi', body: 'x' }],
    })
  ).json();
  await call(user, 'POST', `/v1/campaigns/${campaign.id}/activate`);
  const company = await t.admin.query(
    `INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Acme') RETURNING id`,
    [org],
  );
  const person = await t.admin.query(
    `INSERT INTO crm.people (organisation_id, first_name) VALUES ($1, 'P') RETURNING id`,
    [org],
  );
  const position = await t.admin.query(
    `INSERT INTO crm.positions (organisation_id, person_id, company_id, email) VALUES ($1, $2, $3, $4) RETURNING id`,
    [org, person.rows[0].id, company.rows[0].id, email],
  );
  const enrollment: string = (
    await call(user, 'POST', `/v1/campaigns/${campaign.id}/enrollments`, {
      positionIds: [position.rows[0].id],
    })
  ).json().enrolled[0].enrollmentId;
  await t.admin.query(
    `INSERT INTO outreach.messages (organisation_id, enrollment_id, step_id, mailbox_id, direction, status, message_id_header,
       to_address, subject, unsubscribe_token, sent_at, created_at)
     VALUES ($1, $2, $3, $4, 'outbound', 'sent', $5, $6, 'Hi', $7, now() - $8::interval, now() - $8::interval)`,
    [org, enrollment, campaign.steps[0].id, mailbox.id, header, email, `unsub-${enrollment}`, age],
  );
  return enrollment;
}

const status = async (enrollment: string) =>
  (await t.admin.query('SELECT status FROM outreach.campaign_enrollments WHERE id = $1', [enrollment]))
    .rows[0].status;

describe('the organisation of an inbound mail', () => {
  it("is the answered message's: In-Reply-To names A's message, References also a newer one of B", async () => {
    const inA = await sent(a, 'sales@a-org.test', 'pat@prospect.test', '<pf.a1@a-org.test>', '2 days');
    const inB = await sent(b, 'sales@b-org.test', 'pat@prospect.test', '<pf.b1@b-org.test>', '1 hour');
    const res = await t.app.inject(
      signedInbound(
        {
          messageId: '<reply-x@prospect.test>',
          from: 'pat@prospect.test',
          inReplyTo: '<pf.a1@a-org.test>',
          references: ['<pf.b1@b-org.test>', '<pf.a1@a-org.test>'],
          text: 'Interested',
        },
        SECRET,
      ),
    );
    expect(res.json()).toMatchObject({ matched: true, enrollmentId: inA });
    expect(await status(inA)).toBe('replied');
    expect(await status(inB)).toBe('active');
    const storedIn = await t.admin.query(
      `SELECT organisation_id FROM outreach.messages WHERE message_id_header = '<reply-x@prospect.test>'`,
    );
    expect(storedIn.rows).toEqual([{ organisation_id: a.organisationId }]);
  });

  it('is found from the end of a long References chain (no In-Reply-To, ours last after 60 others)', async () => {
    const enrollment = await sent(
      a,
      'long@a-org.test',
      'lou@prospect.test',
      '<pf.long@a-org.test>',
      '1 hour',
    );
    const references = [
      ...Array.from({ length: 60 }, (_, i) => `<h${i}@human.test>`),
      '<pf.long@a-org.test>',
    ];
    const res = await t.app.inject(
      signedInbound(
        {
          messageId: '<r-long@prospect.test>',
          from: 'lou@prospect.test',
          to: 'inbound@provider.test',
          references,
          text: 'ok',
        },
        SECRET,
      ),
    );
    expect(res.json()).toMatchObject({ matched: true, enrollmentId: enrollment });
    expect(await status(enrollment)).toBe('replied');
  });
});
