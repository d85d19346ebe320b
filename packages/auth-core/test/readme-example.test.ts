import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withTenantClient } from '@prospectflow/tenant-context';
import { testEnvironment } from '@prospectflow/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticatePlugin,
  createAuthServices,
  devJwksPlugin,
  organisationScopePlugin,
  sessionPlugin,
} from '../src/index.js';
import {
  createOrganisation,
  createUser,
  openTestDb,
  setMembership,
  type TestDb,
} from './support/database.js';

// The README's "Complete Fastify example", in dev mode, against real PostgreSQL and Redis.
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-readme-'));
let db: TestDb;
let app: FastifyInstance;
let auth: ReturnType<typeof createAuthServices>;

beforeAll(async () => {
  db = await openTestDb('readme');
  app = Fastify();
  auth = createAuthServices({
    db: db.app,
    env: { AUTH_MODE: 'dev', AUTH_DEV_KEY_DIR: keyDir, REDIS_URL: testEnvironment().redisUrl },
    keyPrefix: `pf:test:${randomUUID()}`,
    logger: app.log,
  });
  app.addHook('onClose', () => auth.close());
  await app.register(authenticatePlugin, { verifier: auth.verifier });
  await app.register(sessionPlugin, { sessions: auth.sessions });
  if (auth.devIssuer) await app.register(devJwksPlugin, { issuer: auth.devIssuer });
  app.get('/health', { config: { auth: false } }, async () => ({ ok: true }));
  app.get('/v1/me', async (request) => ({
    userId: request.auth?.userId,
    memberships: request.auth?.session?.memberships,
  }));
  await app.register(
    async (tenant) => {
      await tenant.register(organisationScopePlugin);
      tenant.get('/members', async () =>
        withTenantClient(
          db.app,
          async (client) =>
            (await client.query('SELECT user_id, role FROM iam.organisation_users ORDER BY role')).rows,
        ),
      );
      tenant.delete('/members/:userId', { config: { role: 'admin' } }, async (request) => {
        const { userId } = request.params as { userId: string };
        await withTenantClient(db.app, (client) =>
          client.query('DELETE FROM iam.organisation_users WHERE user_id = $1', [userId]),
        );
        await auth.sessions.invalidate(userId);
        return { removed: userId };
      });
    },
    { prefix: '/v1' },
  );
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await db.close();
  fs.rmSync(keyDir, { recursive: true, force: true });
});

describe('README example', () => {
  it('serves public routes, the dev JWKS, and scoped routes under RLS; removal takes effect at once', async () => {
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/.well-known/jwks.json' })).json().keys).toHaveLength(1);
    expect((await app.inject({ url: '/v1/me' })).statusCode).toBe(401);

    const issuer = auth.devIssuer!;
    const adminSub = randomUUID();
    const memberSub = randomUUID();
    const orgA = await createOrganisation(db.admin);
    const orgB = await createOrganisation(db.admin);
    const adminId = await createUser(db.admin, adminSub, auth.config.userPoolIds[0]!);
    const memberId = await createUser(db.admin, memberSub, auth.config.userPoolIds[0]!);
    await setMembership(db.admin, orgA, adminId, 'admin');
    await setMembership(db.admin, orgA, memberId, 'member');
    await setMembership(db.admin, orgB, memberId, 'owner');

    const asAdmin = {
      authorization: `Bearer ${issuer.mint({ email: 'admin@example.com', sub: adminSub })}`,
      'x-organisation-id': orgA,
    };
    const asMember = {
      authorization: `Bearer ${issuer.mint({ email: 'member@example.com', sub: memberSub })}`,
      'x-organisation-id': orgA,
    };

    const me = await app.inject({ url: '/v1/me', headers: { authorization: asMember.authorization } });
    expect(me.json().memberships).toHaveLength(2);

    // RLS: organisation A's rows only, although the member also belongs to B.
    const members = await app.inject({ url: '/v1/members', headers: asMember });
    expect(members.statusCode).toBe(200);
    expect(members.json()).toEqual([
      { user_id: adminId, role: 'admin' },
      { user_id: memberId, role: 'member' },
    ]);

    expect(
      (await app.inject({ method: 'DELETE', url: `/v1/members/${adminId}`, headers: asMember })).statusCode,
    ).toBe(403);
    expect(
      (await app.inject({ method: 'DELETE', url: `/v1/members/${memberId}`, headers: asAdmin })).statusCode,
    ).toBe(200);
    const afterRemoval = await app.inject({ url: '/v1/members', headers: asMember });
    expect(afterRemoval.statusCode).toBe(403);
    expect(afterRemoval.json().code).toBe('not_a_member');
  });
});
