import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { sentFirstStep } from '../helpers/fixtures.js';
import { signedInbound } from '../helpers/inbound.js';

// Every message's List-Unsubscribe offers a mailto to the sending mailbox with the subject
// "unsubscribe <token>" (apps/worker compose). A client that unsubscribes by writing sends that
// mail; read from the inbox (IMAP poller) or posted by the provider (this webhook), it is an
// unsubscribe as by the one-click link — not a reply — through outreach-core's applyInbound.

const SECRET = 'mailto-unsubscribe-secret';

let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'mailto_unsubscribe', env: { INBOUND_WEBHOOK_SECRET: SECRET } });
  user = await t.signUp('owner@mailto-unsub.test');
});
afterAll(async () => {
  await t?.close();
});

const inbound = (body: object) => t.app.inject(signedInbound(body, SECRET));

const state = async (enrollment: string, email: string) => {
  const { rows } = await t.admin.query(
    `SELECT e.status,
            EXISTS (SELECT 1 FROM outreach.suppressions s WHERE s.email = $2 AND s.reason = 'unsubscribed') AS suppressed,
            (SELECT count(*)::int FROM outreach.messages m WHERE m.enrollment_id = e.id AND m.direction = 'inbound') AS inbound
       FROM outreach.campaign_enrollments e WHERE e.id = $1`,
    [enrollment, email],
  );
  return rows[0];
};

describe('a mailto unsubscribe (List-Unsubscribe) reaching the mailbox', () => {
  it('unsubscribes and suppresses the address, with the prefixes a client adds; again changes nothing', async () => {
    const email = 'writer@prospect.test';
    const { enrollment, unsubscribeToken } = await sentFirstStep(t, user, {
      address: 'sales@mailto-unsub.test',
      email,
      header: '<first@mailto-unsub.test>',
      steps: [
        { delayDays: 0, subject: 'Hi', body: 'x' },
        { delayDays: 2, subject: 'Again', body: 'y' },
      ],
    });
    const mail = {
      messageId: '<unsub-1@client.test>',
      from: email,
      to: 'sales@mailto-unsub.test',
      subject: `Re:  Unsubscribe ${unsubscribeToken}`,
      text: '',
    };
    const res = await inbound(mail);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ matched: true, kind: 'unsubscribe' });
    expect(await state(enrollment, email)).toEqual({ status: 'unsubscribed', suppressed: true, inbound: 0 });
    // The same mail again (a provider retry, the poller re-reading): still unsubscribed, once.
    expect((await inbound(mail)).json()).toEqual({ matched: true, kind: 'unsubscribe' });
    const stats = await t.admin.query(
      'SELECT sum(unsubscribed)::int AS n FROM tracking.campaign_daily_stats WHERE organisation_id = $1',
      [user.organisationId],
    );
    expect(stats.rows[0].n).toBe(1);
  });

  it('a subject naming no token of ours is an ordinary reply', async () => {
    const email = 'other@prospect.test';
    const { enrollment } = await sentFirstStep(t, user, {
      address: 'team@mailto-unsub.test',
      email,
      header: '<first@team.mailto-unsub.test>',
    });
    const res = await inbound({
      messageId: '<unsub-2@client.test>',
      inReplyTo: '<first@team.mailto-unsub.test>',
      from: email,
      subject: 'unsubscribe not-a-token-of-ours',
      text: 'please stop',
    });
    expect(res.json()).toMatchObject({ matched: true, kind: 'reply', enrollmentId: enrollment });
    expect(await state(enrollment, email)).toEqual({ status: 'replied', suppressed: false, inbound: 1 });
  });
});
