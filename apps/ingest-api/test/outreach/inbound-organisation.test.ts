import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { sentFirstStep } from '../helpers/fixtures.js';
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

/** `user`'s enrollment of `email` whose step 1 went out `age` ago as `header`. */
const sent = async (user: TestUser, address: string, email: string, header: string, age: string) =>
  (await sentFirstStep(t, user, { address, email, header, age })).enrollment;

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
