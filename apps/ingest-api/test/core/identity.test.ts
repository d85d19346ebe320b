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

describe('me and organisations', () => {
  it('GET /v1/me needs no organisation and lists none for a new user', async () => {
    const fresh = await signedIn('fresh@identity.test');
    const me = await t.request(fresh, { method: 'GET', url: '/v1/me', organisationId: null });
    expect(me.json()).toMatchObject({ email: 'fresh@identity.test', memberships: [] });
  });

  it('POST /v1/organisations makes the creator owner, with an audit row naming them', async () => {
    const creator = await signedIn('creator@identity.test');
    const res = await t.request(creator, {
      method: 'POST',
      url: '/v1/organisations',
      organisationId: null,
      payload: {
        name: 'Études & Co',
        organisationId: '00000000-0000-4000-8000-000000000000',
        role: 'viewer',
      },
    });
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
  it('an admin adds by email, changes the role and removes; sessions follow each change', async () => {
    const bob = await signedIn('bob@identity.test');
    const asBob = { token: bob.token, organisationId: owner.organisationId };
    // Not a member yet: the organisation scope refuses (and this caches Bob's empty session).
    expect((await t.request(asBob, { method: 'GET', url: '/v1/companies' })).statusCode).toBe(403);

    const added = await t.request(owner, {
      method: 'POST',
      url: membersUrl(),
      payload: { email: 'BOB@identity.test', role: 'viewer' },
    });
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({ userId: bob.userId, role: 'viewer', email: 'bob@identity.test' });
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
    // Now an admin: Bob may list and add members, but not grant owner.
    const list = await t.request(asBob, { method: 'GET', url: membersUrl() });
    expect(
      list
        .json()
        .items.map((m: { role: string }) => m.role)
        .sort(),
    ).toEqual(['admin', 'owner']);
    await signedIn('carol@identity.test');
    const ownerGrant = await t.request(asBob, {
      method: 'POST',
      url: membersUrl(),
      payload: { email: 'carol@identity.test', role: 'owner' },
    });
    expect(ownerGrant.statusCode).toBe(403);

    const removed = await t.request(owner, { method: 'DELETE', url: `${membersUrl()}/${bob.userId}` });
    expect(removed.statusCode).toBe(204);
    const after = await t.request(asBob, { method: 'GET', url: '/v1/companies' });
    expect(after.statusCode).toBe(403);
    expect(after.json().code).toBe('not_a_member');
  });

  it('answers 409 for an existing member, 422 for an unknown email, 409 for the last owner', async () => {
    const again = await t.request(owner, {
      method: 'POST',
      url: membersUrl(),
      payload: { email: 'owner@identity.test' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'already_a_member', existingId: owner.userId });

    const unknown = await t.request(owner, {
      method: 'POST',
      url: membersUrl(),
      payload: { email: 'nobody@identity.test' },
    });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().code).toBe('unknown_user');

    const demote = await t.request(owner, {
      method: 'PATCH',
      url: `${membersUrl()}/${owner.userId}`,
      payload: { role: 'member' },
    });
    expect(demote.statusCode).toBe(409);
    expect(demote.json().code).toBe('last_owner');
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
