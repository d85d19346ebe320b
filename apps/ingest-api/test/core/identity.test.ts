import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

let t: TestApp;
let owner: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'identity' });
  owner = await t.signUp('owner@identity.test', 'Identity Co');
});
afterAll(async () => {
  await t?.close();
});

/** A user who has signed in once (so iam.users knows their email) but belongs to nothing yet. */
async function signedIn(email: string): Promise<TestUser> {
  const token = t.token(email);
  const me = await t.app.inject({
    method: 'GET',
    url: '/v1/me',
    headers: { authorization: `Bearer ${token}` },
  });
  expect(me.statusCode).toBe(200);
  return {
    email,
    token,
    userId: me.json().id,
    organisationId: '',
    headers: { authorization: `Bearer ${token}` },
  };
}

const membersUrl = () => `/v1/organisations/${owner.organisationId}/members`;
const invitationsUrl = () => `/v1/organisations/${owner.organisationId}/invitations`;

describe('me and organisations', () => {
  it('GET /v1/me needs no organisation and lists none for a new user', async () => {
    const fresh = await signedIn('fresh@identity.test');
    const me = await t.request(fresh, { method: 'GET', url: '/v1/me', organisationId: null });
    expect(me.json()).toMatchObject({ email: 'fresh@identity.test', memberships: [] });
  });

  it('POST /v1/organisations makes the creator owner, with an audit row naming them', async () => {
    const creator = await signedIn('creator@identity.test');
    const create = (payload: object) =>
      t.request(creator, { method: 'POST', url: '/v1/organisations', organisationId: null, payload });
    // No id nor role can be chosen by the caller: such fields are refused, and nothing is created.
    const chosen = await create({
      name: 'Études & Co',
      organisationId: '00000000-0000-4000-8000-000000000000',
      role: 'viewer',
    });
    expect([chosen.statusCode, chosen.json().code]).toEqual([400, 'validation_failed']);
    expect(
      (await t.request(creator, { method: 'GET', url: '/v1/organisations', organisationId: null })).json()
        .items,
    ).toEqual([]);
    const res = await create({ name: 'Études & Co' });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({ name: 'Études & Co', role: 'owner', status: 'active' });
    expect(created.slug).toMatch(/^etudes-co-[0-9a-f]{6}$/);
    const list = await t.request(creator, { method: 'GET', url: '/v1/organisations', organisationId: null });
    expect(list.json().items).toEqual([expect.objectContaining({ id: created.id, role: 'owner' })]);
    const audit = await t.admin.query(
      `SELECT actor_user_id, action FROM iam.audit_log WHERE organisation_id = $1 AND table_name = 'iam.organisation_users'`,
      [created.id],
    );
    expect(audit.rows).toEqual([{ actor_user_id: creator.userId, action: 'insert' }]);
    // The new membership is usable at once (the session cache was invalidated).
    const companies = await t.request(creator, {
      method: 'GET',
      url: '/v1/companies',
      organisationId: created.id,
    });
    expect(companies.statusCode).toBe(200);
  });

  it('refuses a slug already in use with 409 slug_taken', async () => {
    const a = await t.request(owner, {
      method: 'POST',
      url: '/v1/organisations',
      organisationId: null,
      payload: { name: 'Slug One', slug: 'taken-slug' },
    });
    expect(a.statusCode).toBe(201);
    const b = await t.request(owner, {
      method: 'POST',
      url: '/v1/organisations',
      organisationId: null,
      payload: { name: 'Slug Two', slug: 'taken-slug' },
    });
    expect(b.statusCode).toBe(409);
    expect(b.json()).toMatchObject({ code: 'slug_taken' });
    expect(b.json().existingId).toBeUndefined();
  });
});

describe('members', () => {
  it('an admin invites by email, the user accepts; role changes and removal follow; sessions follow each change', async () => {
    const bob = await signedIn('bob@identity.test');
    const asBob = { token: bob.token, organisationId: owner.organisationId };
    // Not a member yet: the organisation scope refuses (and this caches Bob's empty session).
    expect((await t.request(asBob, { method: 'GET', url: '/v1/companies' })).statusCode).toBe(403);

    const invited = await t.request(owner, {
      method: 'POST',
      url: invitationsUrl(),
      payload: { email: 'BOB@identity.test', role: 'viewer' },
    });
    expect(invited.statusCode).toBe(201);
    expect(invited.json()).toMatchObject({ email: 'bob@identity.test', role: 'viewer', status: 'pending' });
    // An invitation is not a membership.
    expect((await t.request(asBob, { method: 'GET', url: '/v1/companies' })).statusCode).toBe(403);
    const accepted = await t.request(bob, {
      method: 'POST',
      url: `/v1/invitations/${invited.json().id}/accept`,
      organisationId: null,
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toEqual({ organisationId: owner.organisationId, role: 'viewer' });
    expect((await t.request(asBob, { method: 'GET', url: '/v1/companies' })).statusCode).toBe(200);

    // A viewer cannot manage members.
    const denied = await t.request(asBob, {
      method: 'PATCH',
      url: `${membersUrl()}/${bob.userId}`,
      payload: { role: 'admin' },
    });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('insufficient_role');

    const promoted = await t.request(owner, {
      method: 'PATCH',
      url: `${membersUrl()}/${bob.userId}`,
      payload: { role: 'admin' },
    });
    expect(promoted.statusCode).toBe(200);
    expect(promoted.json().role).toBe('admin');
    // Now an admin: Bob may list members and invite, but not to owner.
    const list = await t.request(asBob, { method: 'GET', url: membersUrl() });
    expect(
      list
        .json()
        .items.map((m: { role: string }) => m.role)
        .sort(),
    ).toEqual(['admin', 'owner']);
    const ownerGrant = await t.request(asBob, {
      method: 'POST',
      url: invitationsUrl(),
      payload: { email: 'carol@identity.test', role: 'owner' },
    });
    expect(ownerGrant.statusCode).toBe(403);
    expect(ownerGrant.json()).toMatchObject({ code: 'insufficient_role', requiredRole: 'owner' });

    const removed = await t.request(owner, { method: 'DELETE', url: `${membersUrl()}/${bob.userId}` });
    expect(removed.statusCode).toBe(204);
    const after = await t.request(asBob, { method: 'GET', url: '/v1/companies' });
    expect(after.statusCode).toBe(403);
    expect(after.json().code).toBe('not_a_member');
  });

  it('answers 409 last_owner when the only owner would be demoted', async () => {
    const demote = await t.request(owner, {
      method: 'PATCH',
      url: `${membersUrl()}/${owner.userId}`,
      payload: { role: 'member' },
    });
    expect(demote.statusCode).toBe(409);
    expect(demote.json().code).toBe('last_owner');
  });

  it('two owners demoting each other at the same time never leave the organisation without an owner', async () => {
    for (let round = 0; round < 5; round++) {
      const first = await t.signUp();
      const second = await t.join(first, 'owner');
      const url = (user: { userId: string }) =>
        `/v1/organisations/${first.organisationId}/members/${user.userId}`;
      // Each demotes the other: alone, each would be allowed (another owner remains).
      const answers = await Promise.all([
        t.request(first, { method: 'PATCH', url: url(second), payload: { role: 'member' } }),
        t.request(second, { method: 'PATCH', url: url(first), payload: { role: 'member' } }),
      ]);
      const codes = answers.map((answer) => answer.statusCode).sort();
      // The owner set is locked: the second change sees the first — it is refused (409
      // last_owner) or, demoted already, its author is no longer allowed to touch owners (403).
      expect(codes[0], answers.map((a) => a.body).join('\n')).toBe(200);
      expect([403, 409]).toContain(codes[1]);
      const { rows } = await t.admin.query(
        `SELECT count(*)::int AS n FROM iam.organisation_users
          WHERE organisation_id = $1 AND role = 'owner' AND status = 'active'`,
        [first.organisationId],
      );
      expect(rows[0].n).toBe(1);
    }
  });

  /**
   * Holds the owner-set lock of `organisationId` on an admin connection while `first` queues behind
   * it (waits until it is blocked on the lock), then starts `later` (requests already past the
   * route's role check, whose cached sessions still show the old role) and gives them a moment to
   * queue behind `first`, then releases the lock and returns every answer in order.
   */
  async function queuedBehindOwnerSetLock(
    organisationId: string,
    first: () => Promise<{ statusCode: number; body: string }>,
    later: Array<() => Promise<{ statusCode: number; body: string }>>,
  ) {
    const hold = await t.admin.connect();
    const pending: Array<Promise<{ statusCode: number; body: string }>> = [];
    try {
      await hold.query('BEGIN');
      await hold.query('SELECT 1 FROM iam.organisations WHERE id = $1 FOR NO KEY UPDATE', [organisationId]);
      pending.push(first());
      await expect
        .poll(
          async () =>
            (
              await hold.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'`,
              )
            ).rows[0]!.n,
          { timeout: 10_000, interval: 20 },
        )
        .toBe(1);
      for (const step of later) {
        pending.push(step());
        await sleep(700);
      }
    } finally {
      await hold.query('COMMIT');
      hold.release();
    }
    return await Promise.all(pending);
  }

  it('a suspended owner whose request was already authorised changes no owner and cannot reinstate itself', async () => {
    const a = await t.signUp();
    const b = await t.join(a, 'owner');
    const c = await t.join(a, 'owner');
    const url = (user: { userId: string }) => `/v1/organisations/${a.organisationId}/members/${user.userId}`;
    // B's session is cached as an active owner, so its requests pass the route's role check.
    expect(
      (await t.request(b, { method: 'GET', url: `/v1/organisations/${a.organisationId}/members` }))
        .statusCode,
    ).toBe(200);
    // A suspends B; B's two requests, already past the gate, run after that inside the lock.
    const [suspend, demote, reinstate] = await queuedBehindOwnerSetLock(
      a.organisationId,
      () => t.request(a, { method: 'PATCH', url: url(b), payload: { status: 'suspended' } }),
      [
        () => t.request(b, { method: 'PATCH', url: url(c), payload: { role: 'viewer' } }),
        () => t.request(b, { method: 'PATCH', url: url(b), payload: { status: 'active' } }),
      ],
    );
    expect(suspend!.statusCode, suspend!.body).toBe(200);
    // 403 either way: insufficient_role inside the lock, or not_a_member if a slow machine let the
    // suspension land before the request reached the gate.
    expect(demote!.statusCode, demote!.body).toBe(403);
    expect(reinstate!.statusCode, reinstate!.body).toBe(403);
    const { rows } = await t.admin.query(
      'SELECT user_id AS "userId", role, status FROM iam.organisation_users WHERE organisation_id = $1',
      [a.organisationId],
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        { userId: b.userId, role: 'owner', status: 'suspended' },
        { userId: c.userId, role: 'owner', status: 'active' },
      ]),
    );
  });

  it('a suspended admin whose request was already authorised neither invites nor revokes', async () => {
    const a = await t.signUp();
    const b = await t.join(a, 'admin');
    const invitations = `/v1/organisations/${a.organisationId}/invitations`;
    const open = await t.request(a, {
      method: 'POST',
      url: invitations,
      payload: { email: 'open@identity.test', role: 'member' },
    });
    expect(open.statusCode).toBe(201);
    expect((await t.request(b, { method: 'GET', url: invitations })).statusCode).toBe(200);
    const [suspend, invite, revoke] = await queuedBehindOwnerSetLock(
      a.organisationId,
      () =>
        t.request(a, {
          method: 'PATCH',
          url: `/v1/organisations/${a.organisationId}/members/${b.userId}`,
          payload: { status: 'suspended' },
        }),
      [
        () =>
          t.request(b, {
            method: 'POST',
            url: invitations,
            payload: { email: 'late@identity.test', role: 'member' },
          }),
        () => t.request(b, { method: 'DELETE', url: `${invitations}/${open.json().id}` }),
      ],
    );
    expect(suspend!.statusCode, suspend!.body).toBe(200);
    expect(invite!.statusCode, invite!.body).toBe(403);
    expect(revoke!.statusCode, revoke!.body).toBe(403);
    const { rows } = await t.admin.query(
      'SELECT email::text AS email, status FROM iam.organisation_invitations WHERE organisation_id = $1 ORDER BY email',
      [a.organisationId],
    );
    expect(rows.filter((row) => row.email !== b.email)).toEqual([
      { email: 'open@identity.test', status: 'pending' },
    ]);
  });

  it('refuses a path naming another organisation than the header', async () => {
    const other = await t.signUp();
    const res = await t.request(owner, {
      method: 'GET',
      url: `/v1/organisations/${other.organisationId}/members`,
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('not_a_member');
  });
});
