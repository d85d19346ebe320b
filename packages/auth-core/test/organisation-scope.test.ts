import { randomUUID } from 'node:crypto';
import { testEnvironment } from '@prospectflow/testing';
import Fastify, { type FastifyContextConfig, type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticJwksFetcher } from '../src/jwks-fetchers.js';
import { authenticatePlugin } from '../src/plugins/authenticate.js';
import { SessionService } from '../src/session-service.js';
import { RedisSessionStore } from '../src/session-store.js';
import { UserSyncService } from '../src/user-sync.js';
import { createTokenVerifier } from '../src/verifier.js';
import { buildTestApp } from './support/app.js';
import {
  createOrganisation,
  createUser,
  openTestDb,
  setMembership,
  type TestDb,
} from './support/database.js';
import { accessClaims, jwksFor, mainKey, POOL_ID, sign, testConfig } from './support/keys.js';
import { expectProblem } from './support/problem.js';

let db: TestDb;
let redis: Redis;
let app: FastifyInstance;
let sessions: SessionService;
let handlerRuns = 0;

// Organisation A (active) and B (active), C (suspended).
let orgA: string;
let orgB: string;
let orgSuspended: string;
const people = {
  owner: { sub: randomUUID(), id: '' },
  admin: { sub: randomUUID(), id: '' },
  member: { sub: randomUUID(), id: '' },
  viewer: { sub: randomUUID(), id: '' },
  suspendedMember: { sub: randomUUID(), id: '' },
  invited: { sub: randomUUID(), id: '' },
  outsider: { sub: randomUUID(), id: '' },
};

beforeAll(async () => {
  db = await openTestDb('orgscope');
  redis = new Redis(testEnvironment().redisUrl);
  orgA = await createOrganisation(db.admin);
  orgB = await createOrganisation(db.admin);
  orgSuspended = await createOrganisation(db.admin, 'suspended');
  for (const person of Object.values(people)) person.id = await createUser(db.admin, person.sub, POOL_ID);
  await setMembership(db.admin, orgA, people.owner.id, 'owner');
  await setMembership(db.admin, orgA, people.admin.id, 'admin');
  await setMembership(db.admin, orgA, people.member.id, 'member');
  await setMembership(db.admin, orgA, people.viewer.id, 'viewer');
  await setMembership(db.admin, orgA, people.suspendedMember.id, 'admin', 'suspended');
  await setMembership(db.admin, orgA, people.invited.id, 'member', 'invited');
  await setMembership(db.admin, orgB, people.outsider.id, 'owner');
  await setMembership(db.admin, orgSuspended, people.member.id, 'owner');
  sessions = new SessionService({
    db: db.app,
    store: new RedisSessionStore(redis),
    userSync: new UserSyncService(db.app),
    keyPrefix: `pf:test:${randomUUID()}`,
  });
  const verifier = createTokenVerifier(testConfig(), {
    fetcher: new StaticJwksFetcher(() => jwksFor(mainKey)),
  });
  app = await buildTestApp({ verifier, sessions, onHandler: () => handlerRuns++ });
});
afterAll(async () => {
  await app.close();
  redis.disconnect();
  await db.close();
});

const as = (person: { sub: string }, organisationId?: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${sign(accessClaims({ sub: person.sub }))}`,
  ...(organisationId === undefined ? {} : { 'x-organisation-id': organisationId }),
  ...extra,
});

describe('organisation scope', () => {
  it('runs a member’s request inside the tenant context of the chosen organisation', async () => {
    const response = await app.inject({ url: '/org', headers: as(people.member, orgA) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      organisation: { organisationId: orgA, role: 'member' },
      tenant: { organisationId: orgA, userId: people.member.id, role: 'member' },
    });
    expect(response.headers.vary).toContain('X-Organisation-Id');
  });

  it('accepts an upper-case uuid and normalises it', async () => {
    const response = await app.inject({ url: '/org', headers: as(people.member, orgA.toUpperCase()) });
    expect(response.json().organisation.organisationId).toBe(orgA);
  });

  it.each([
    ['a non-member', () => as(people.outsider, orgA), 403, 'not_a_member'],
    ['a member of A asking for B', () => as(people.member, orgB), 403, 'not_a_member'],
    ['an invited (not yet active) member', () => as(people.invited, orgA), 403, 'not_a_member'],
    ['a suspended member', () => as(people.suspendedMember, orgA), 403, 'membership_suspended'],
    [
      'a member of a suspended organisation',
      () => as(people.member, orgSuspended),
      403,
      'organisation_suspended',
    ],
    ['an organisation that does not exist', () => as(people.member, randomUUID()), 403, 'not_a_member'],
    ['no x-organisation-id header', () => as(people.member), 400, 'organisation_required'],
    ['an empty header', () => as(people.member, ''), 400, 'organisation_required'],
    ['a malformed id', () => as(people.member, 'not-a-uuid'), 400, 'organisation_id_malformed'],
    ['a comma-joined pair', () => as(people.member, `${orgA},${orgB}`), 400, 'organisation_id_malformed'],
    ['an id with trailing text', () => as(people.member, `${orgA} x`), 400, 'organisation_id_malformed'],
  ])('refuses %s', async (_name, headers, status, code) => {
    const before = handlerRuns;
    expectProblem(await app.inject({ url: '/org', headers: headers() }), status, code);
    expect(handlerRuns).toBe(before);
  });

  it('refuses a repeated x-organisation-id header', async () => {
    const response = await app.inject({
      url: '/org',
      headers: { ...as(people.member), 'x-organisation-id': [orgA, orgB] as unknown as string },
    });
    expectProblem(response, 400, 'organisation_id_malformed');
  });

  it('lets routes opt out of the organisation scope, still authenticated', async () => {
    const ok = await app.inject({ url: '/org-free', headers: as(people.member) });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().tenant).toBeNull();
    expectProblem(await app.inject({ url: '/org-free' }), 401, 'credentials_missing');
  });

  it('ignores organisation ids and roles in the body', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/org/settings',
      headers: { ...as(people.member, orgA), 'content-type': 'application/json' },
      payload: { organisationId: orgB, role: 'owner' },
    });
    expectProblem(response, 403, 'insufficient_role');
  });
});

describe('config.role', () => {
  it.each([
    ['owner', people.owner],
    ['admin', people.admin],
  ])('lets an %s through', async (_role, person) => {
    const response = await app.inject({ method: 'POST', url: '/org/settings', headers: as(person, orgA) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ saved: true, tenant: { organisationId: orgA } });
  });

  it.each([
    ['member', people.member],
    ['viewer', people.viewer],
  ])('refuses a %s with 403 insufficient_role', async (_role, person) => {
    const response = await app.inject({ method: 'POST', url: '/org/settings', headers: as(person, orgA) });
    expectProblem(response, 403, 'insufficient_role');
    expect(response.json().requiredRole).toBe('admin');
    expect(response.headers['www-authenticate']).toContain('error="insufficient_scope"');
  });

  it('fails closed on a route whose role no organisation scope checks: even an owner is refused', async () => {
    const before = handlerRuns;
    const response = await app.inject({
      method: 'POST',
      url: '/unscoped-admin',
      headers: as(people.owner, orgA),
    });
    expectProblem(response, 403, 'insufficient_role');
    expect(handlerRuns).toBe(before);
  });

  it.each<[string, FastifyContextConfig]>([
    ['auth: false', { auth: false, role: 'admin' }],
    ['organisation: false', { organisation: false, role: 'admin' }],
  ])('refuses to register a route with a role and %s', async (_name, config) => {
    const verifier = createTokenVerifier(testConfig(), {
      fetcher: new StaticJwksFetcher(() => jwksFor(mainKey)),
    });
    const broken = Fastify({ logger: false });
    await broken.register(authenticatePlugin, { verifier, hydrate: false });
    expect(() => broken.post('/x', { config }, async () => ({}))).toThrow(
      /config\.role is checked per organisation/,
    );
    await broken.close();
  });
});

describe('membership changes', () => {
  it('denies the next request after a downgrade plus invalidate(userId)', async () => {
    const person = { sub: randomUUID(), id: '' };
    person.id = await createUser(db.admin, person.sub, POOL_ID);
    await setMembership(db.admin, orgB, person.id, 'admin');
    expect(
      (await app.inject({ method: 'POST', url: '/org/settings', headers: as(person, orgB) })).statusCode,
    ).toBe(200);

    await setMembership(db.admin, orgB, person.id, 'viewer');
    await sessions.invalidate(person.id);
    expectProblem(
      await app.inject({ method: 'POST', url: '/org/settings', headers: as(person, orgB) }),
      403,
      'insufficient_role',
    );

    await db.admin.query('UPDATE iam.organisations SET status = $1 WHERE id = $2', ['suspended', orgB]);
    await sessions.invalidate(person.id);
    expectProblem(
      await app.inject({ url: '/org', headers: as(person, orgB) }),
      403,
      'organisation_suspended',
    );
    await db.admin.query('UPDATE iam.organisations SET status = $1 WHERE id = $2', ['active', orgB]);
  });
});
