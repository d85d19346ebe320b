import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

/**
 * Membership by invitation (issue 14 item 2), through HTTP on a real database: an invitation is
 * for an email; only a signed-in user whose VERIFIED email is that address turns it into a
 * membership (explicitly, or when their session is loaded, e.g. at first sign-in). The invite
 * answer never tells whether the address has an account.
 */
let t: TestApp;
let owner: TestUser;
let admin: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'invitations' });
  owner = await t.signUp('owner@invitations.test', 'Inviting Org');
  admin = await t.join(owner, 'admin');
});
afterAll(async () => {
  await t?.close();
});

const invitationsUrl = (org = owner.organisationId) => `/v1/organisations/${org}/invitations`;

async function invite(email: string, role = 'member', by: TestUser = owner) {
  const res = await t.request(by, {
    method: 'POST',
    url: invitationsUrl(by.organisationId),
    payload: { email, role },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as {
    id: string;
    email: string;
    role: string;
    status: string;
    expiresAt: string;
    createdAt: string;
  };
}

/** A signed-in user (no organisation header); `mint` options go to the dev issuer (sub, emailVerified…). */
async function signIn(email: string, mint: { sub?: string; emailVerified?: boolean } = {}) {
  const token = t.token(email, mint);
  const me = await t.app.inject({
    method: 'GET',
    url: '/v1/me',
    headers: { authorization: `Bearer ${token}` },
  });
  expect(me.statusCode, me.body).toBe(200);
  const body = me.json() as { id: string; memberships: { id: string; role: string }[] };
  return { token, organisationId: '', userId: body.id, memberships: body.memberships };
}

const accept = (user: { token: string }, id: string) =>
  t.request(
    { token: user.token, organisationId: '' },
    {
      method: 'POST',
      url: `/v1/invitations/${id}/accept`,
      organisationId: null,
    },
  );

/** The status of GET /v1/companies as `token` in `organisationId`: is the membership usable? */
const companiesStatus = async (token: string, organisationId: string) =>
  (await t.request({ token, organisationId }, { method: 'GET', url: '/v1/companies' })).statusCode;

async function membershipsOf(userId: string) {
  const { rows } = await t.admin.query<{ organisation_id: string; role: string }>(
    'SELECT organisation_id, role FROM iam.organisation_users WHERE user_id = $1 ORDER BY organisation_id',
    [userId],
  );
  return rows;
}

describe('invite and accept', () => {
  it('a signed-in user with the verified address accepts and becomes a member with the role; each step is audited', async () => {
    const dana = await signIn('dana@invitations.test');
    const invitation = await invite('Dana@Invitations.test', 'viewer');
    expect(invitation).toMatchObject({ email: 'dana@invitations.test', role: 'viewer', status: 'pending' });
    expect(await membershipsOf(dana.userId)).toEqual([]);

    const received = await t.request(dana, { method: 'GET', url: '/v1/invitations', organisationId: null });
    expect(received.json().items).toEqual([
      expect.objectContaining({
        id: invitation.id,
        organisationId: owner.organisationId,
        organisationName: 'Inviting Org',
        role: 'viewer',
      }),
    ]);
    const res = await accept(dana, invitation.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ organisationId: owner.organisationId, role: 'viewer' });
    expect(await membershipsOf(dana.userId)).toEqual([
      { organisation_id: owner.organisationId, role: 'viewer' },
    ]);
    // Usable at once (the session was invalidated), and accepting again changes nothing.
    expect(await companiesStatus(dana.token, owner.organisationId)).toBe(200);
    expect((await accept(dana, invitation.id)).statusCode).toBe(200);

    const listed = await t.request(owner, { method: 'GET', url: invitationsUrl() });
    expect(listed.json().items).toContainEqual(
      expect.objectContaining({
        id: invitation.id,
        status: 'accepted',
        acceptedBy: dana.userId,
        invitedBy: owner.userId,
      }),
    );
    const audit = await t.admin.query(
      `SELECT actor_user_id, action, changed_fields FROM iam.audit_log
        WHERE organisation_id = $1 AND table_name = 'iam.organisation_invitations' AND row_id = $2 ORDER BY created_at`,
      [owner.organisationId, invitation.id],
    );
    expect(audit.rows).toEqual([
      { actor_user_id: owner.userId, action: 'insert', changed_fields: [] },
      {
        actor_user_id: dana.userId,
        action: 'update',
        changed_fields: ['accepted_at', 'accepted_by', 'status'],
      },
    ]);
    const joined = await t.admin.query(
      `SELECT actor_user_id FROM iam.audit_log a JOIN iam.organisation_users m ON m.id = a.row_id
        WHERE a.organisation_id = $1 AND a.table_name = 'iam.organisation_users' AND m.user_id = $2`,
      [owner.organisationId, dana.userId],
    );
    expect(joined.rows).toEqual([{ actor_user_id: dana.userId }]);
  });

  it('on first sign-in with the verified address the invitation is accepted automatically', async () => {
    const invitation = await invite('newbie@invitations.test', 'member');
    const newbie = await signIn('newbie@invitations.test');
    expect(newbie.memberships).toEqual([
      expect.objectContaining({ id: owner.organisationId, role: 'member' }),
    ]);
    const { rows } = await t.admin.query(
      'SELECT status, accepted_by FROM iam.organisation_invitations WHERE id = $1',
      [invitation.id],
    );
    expect(rows).toEqual([{ status: 'accepted', accepted_by: newbie.userId }]);
  });

  it('an unverified email never obtains the membership: not on sign-in, not by accepting', async () => {
    const invitation = await invite('victim@invitations.test', 'admin');
    // Someone sets the victim's address on their own account without verifying it.
    const squatter = await signIn('victim@invitations.test', { sub: 'squatter-sub', emailVerified: false });
    expect(squatter.memberships).toEqual([]);
    const received = await t.request(squatter, {
      method: 'GET',
      url: '/v1/invitations',
      organisationId: null,
    });
    expect(received.json().items).toEqual([]);
    const res = await accept(squatter, invitation.id);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'email_not_verified' });
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(await membershipsOf(squatter.userId)).toEqual([]);

    // The address's verified owner still can; afterwards the invitation is used up for anyone else.
    const victim = await signIn('victim@invitations.test');
    expect(victim.memberships).toEqual([
      expect.objectContaining({ id: owner.organisationId, role: 'admin' }),
    ]);
    const other = await signIn('victim@invitations.test', { sub: 'second-verified-account' });
    const used = await accept(other, invitation.id);
    expect(used.statusCode).toBe(409);
    expect(used.json().code).toBe('invitation_already_accepted');
    expect(await membershipsOf(other.userId)).toEqual([]);
  });

  it('an address verified after sign-in can accept at once (the token is read again, not the cached session)', async () => {
    const unverified = await signIn('later@invitations.test', { emailVerified: false });
    const invitation = await invite('later@invitations.test', 'viewer');
    expect((await accept(unverified, invitation.id)).statusCode).toBe(403);
    // Same account (same sub), its ID token now says verified; its session is still cached.
    const verified = { token: t.token('later@invitations.test') };
    const res = await accept(verified, invitation.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(await membershipsOf(unverified.userId)).toEqual([
      { organisation_id: owner.organisationId, role: 'viewer' },
    ]);
  });

  it('used once under concurrency: two accounts with the verified address accepting at once get one seat', async () => {
    const invitation = await invite('twin@invitations.test', 'member');
    // Both accounts exist before the invitation is theirs to take (no auto-accept in between).
    await t.admin.query(
      `UPDATE iam.organisation_invitations SET status = 'revoked', revoked_at = now() WHERE id = $1`,
      [invitation.id],
    );
    const first = await signIn('twin@invitations.test', { sub: 'twin-one' });
    const second = await signIn('twin@invitations.test', { sub: 'twin-two' });
    await t.admin.query(
      `UPDATE iam.organisation_invitations SET status = 'pending', revoked_at = NULL WHERE id = $1`,
      [invitation.id],
    );
    const answers = await Promise.all([accept(first, invitation.id), accept(second, invitation.id)]);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 409]);
    const { rows } = await t.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM iam.organisation_users WHERE organisation_id = $1 AND user_id = ANY($2)`,
      [owner.organisationId, [first.userId, second.userId]],
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('two admins inviting the same address at once leave one pending invitation', async () => {
    const answers = await Promise.all([
      t.request(owner, {
        method: 'POST',
        url: invitationsUrl(),
        payload: { email: 'rush@invitations.test' },
      }),
      t.request(admin, {
        method: 'POST',
        url: invitationsUrl(),
        payload: { email: 'rush@invitations.test' },
      }),
    ]);
    // The second either replaced the first (201) or met it mid-insert (409 invitation_conflict).
    for (const answer of answers)
      expect(answer.statusCode === 201 || answer.json().code === 'invitation_conflict', answer.body).toBe(
        true,
      );
    const { rows } = await t.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM iam.organisation_invitations
        WHERE organisation_id = $1 AND email = 'rush@invitations.test' AND status = 'pending'`,
      [owner.organisationId],
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('an invitation addressed to someone else is not found', async () => {
    const invitation = await invite('someone@invitations.test');
    const stranger = await signIn('stranger@invitations.test');
    const res = await accept(stranger, invitation.id);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('invitation_not_found');
    expect(await membershipsOf(stranger.userId)).toEqual([]);
  });
});

describe('expiry, revocation, listing', () => {
  it('expires after INVITATION_TTL_DAYS (7 by default): 410 invitation_expired, listed as expired', async () => {
    const erin = await signIn('erin@invitations.test');
    const invitation = await invite('erin@invitations.test');
    const days = (Date.parse(invitation.expiresAt) - Date.parse(invitation.createdAt)) / 86_400_000;
    expect(days).toBeCloseTo(7, 5);
    // Eight days later (test-only seeding: the clock moves through the row).
    await t.admin.query(
      `UPDATE iam.organisation_invitations SET created_at = created_at - interval '8 days', expires_at = expires_at - interval '8 days'
        WHERE id = $1`,
      [invitation.id],
    );
    const res = await accept(erin, invitation.id);
    expect(res.statusCode).toBe(410);
    expect(res.json().code).toBe('invitation_expired');
    expect(await membershipsOf(erin.userId)).toEqual([]);
    const expired = await t.request(owner, { method: 'GET', url: `${invitationsUrl()}?status=expired` });
    expect(expired.json().items.map((i: { id: string }) => i.id)).toEqual([invitation.id]);
    // Nor on a first sign-in.
    const late = await invite('late@invitations.test');
    await t.admin.query(
      `UPDATE iam.organisation_invitations SET created_at = created_at - interval '8 days', expires_at = expires_at - interval '8 days'
        WHERE id = $1`,
      [late.id],
    );
    expect((await signIn('late@invitations.test')).memberships).toEqual([]);
  });

  it('a revoked invitation cannot be accepted (410 invitation_revoked); revoking twice is 409', async () => {
    const invitation = await invite('revoked@invitations.test');
    const revoke = () => t.request(admin, { method: 'DELETE', url: `${invitationsUrl()}/${invitation.id}` });
    expect((await revoke()).statusCode).toBe(204);
    const again = await revoke();
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('invitation_not_pending');
    const user = await signIn('revoked@invitations.test');
    expect(user.memberships).toEqual([]);
    const res = await accept(user, invitation.id);
    expect(res.statusCode).toBe(410);
    expect(res.json().code).toBe('invitation_revoked');
    const audit = await t.admin.query(
      `SELECT actor_user_id, changed_fields FROM iam.audit_log
        WHERE organisation_id = $1 AND row_id = $2 AND action = 'update'`,
      [owner.organisationId, invitation.id],
    );
    expect(audit.rows).toEqual([
      { actor_user_id: admin.userId, changed_fields: ['revoked_at', 'revoked_by', 'status'] },
    ]);
  });

  it('inviting an address again replaces its open invitation', async () => {
    const first = await invite('twice@invitations.test', 'viewer');
    const second = await invite('twice@invitations.test', 'member');
    const list = await t.request(owner, { method: 'GET', url: invitationsUrl() });
    const byId = new Map(list.json().items.map((i: { id: string; status: string }) => [i.id, i.status]));
    expect(byId.get(first.id)).toBe('revoked');
    expect(byId.get(second.id)).toBe('pending');
    const pending = await t.request(owner, { method: 'GET', url: `${invitationsUrl()}?status=pending` });
    expect(pending.json().items.every((i: { status: string }) => i.status === 'pending')).toBe(true);
    expect(pending.json().items.map((i: { email: string }) => i.email)).toContain('twice@invitations.test');
  });
});

describe('non-disclosure', () => {
  it('inviting an address with an account and one without gives the same status and shape, and no names', async () => {
    await t.signUp('known@invitations.test');
    await t.app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: {
        authorization: `Bearer ${t.token('known@invitations.test', { givenName: 'Kim', familyName: 'Known' })}`,
      },
    });
    const answers = [];
    for (const email of ['known@invitations.test', 'unknown@invitations.test']) {
      const res = await t.request(admin, {
        method: 'POST',
        url: invitationsUrl(),
        payload: { email, role: 'member' },
      });
      const { id, email: echoed, expiresAt, createdAt, ...rest } = res.json();
      answers.push({
        status: res.statusCode,
        contentType: res.headers['content-type'],
        keys: Object.keys(res.json()).sort(),
        rest,
      });
      expect(res.body).not.toMatch(/Kim|Known/);
      expect([id, echoed, expiresAt, createdAt].every(Boolean)).toBe(true);
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toMatchObject({
      status: 201,
      rest: { role: 'member', status: 'pending', acceptedBy: null },
    });
    // The former path answers the same way (it creates an invitation too).
    const legacy = await t.request(admin, {
      method: 'POST',
      url: `/v1/organisations/${owner.organisationId}/members`,
      payload: { email: 'legacy@invitations.test' },
    });
    expect(legacy.statusCode).toBe(201);
    expect(Object.keys(legacy.json()).sort()).toEqual(answers[0]!.keys);
  });
});

describe('roles', () => {
  it('viewers and members cannot invite or list; admins invite below owner; owners invite owners', async () => {
    const viewer = await t.join(owner, 'viewer');
    const member = await t.join(owner, 'member');
    for (const user of [viewer, member]) {
      for (const request of [
        { method: 'POST' as const, url: invitationsUrl(), payload: { email: 'x@invitations.test' } },
        { method: 'GET' as const, url: invitationsUrl() },
      ]) {
        const res = await t.request(user, request);
        expect(res.statusCode).toBe(403);
        expect(res.json()).toMatchObject({ code: 'insufficient_role', requiredRole: 'admin' });
      }
    }
    const asAdmin = await t.request(admin, {
      method: 'POST',
      url: invitationsUrl(),
      payload: { email: 'boss@invitations.test', role: 'owner' },
    });
    expect(asAdmin.statusCode).toBe(403);
    expect(asAdmin.json()).toMatchObject({ code: 'insufficient_role', requiredRole: 'owner' });

    const ownerInvite = await invite('boss@invitations.test', 'owner');
    // An admin can neither revoke nor replace an owner invitation.
    const revoke = await t.request(admin, { method: 'DELETE', url: `${invitationsUrl()}/${ownerInvite.id}` });
    expect(revoke.statusCode).toBe(403);
    const replace = await t.request(admin, {
      method: 'POST',
      url: invitationsUrl(),
      payload: { email: 'boss@invitations.test', role: 'viewer' },
    });
    expect(replace.statusCode).toBe(403);
    const boss = await signIn('boss@invitations.test');
    expect(boss.memberships).toEqual([expect.objectContaining({ id: owner.organisationId, role: 'owner' })]);
  });
});

describe('cross-tenant', () => {
  it("organisation B neither sees nor revokes A's invitations, and accepting one joins A only", async () => {
    const b = await t.signUp('b-owner@invitations.test', 'Org B');
    const invitation = await invite('crosser@invitations.test', 'member');
    const bList = await t.request(b, { method: 'GET', url: invitationsUrl(b.organisationId) });
    expect(bList.statusCode).toBe(200);
    expect(bList.json().items.map((i: { id: string }) => i.id)).not.toContain(invitation.id);
    const bRevoke = await t.request(b, {
      method: 'DELETE',
      url: `${invitationsUrl(b.organisationId)}/${invitation.id}`,
    });
    expect(bRevoke.statusCode).toBe(404);
    expect(bRevoke.json().code).toBe('invitation_not_found');
    const viaA = await t.request(b, {
      method: 'GET',
      url: invitationsUrl(),
      organisationId: owner.organisationId,
    });
    expect(viaA.statusCode).toBe(403);
    expect(viaA.json().code).toBe('not_a_member');

    const crosser = await signIn('crosser@invitations.test');
    expect(await membershipsOf(crosser.userId)).toEqual([
      { organisation_id: owner.organisationId, role: 'member' },
    ]);
    expect(await companiesStatus(crosser.token, b.organisationId)).toBe(403);
    const { rows } = await t.admin.query(
      'SELECT status FROM iam.organisation_invitations WHERE id = $1 AND organisation_id = $2',
      [invitation.id, owner.organisationId],
    );
    expect(rows).toEqual([{ status: 'accepted' }]);
  });
});
