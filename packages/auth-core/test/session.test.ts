import { randomUUID } from 'node:crypto';
import { freePort, startRedisServer, testEnvironment } from '@prospectflow/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Queryable } from '../src/database.js';
import { StaticJwksFetcher } from '../src/jwks-fetchers.js';
import { createSessionRedis } from '../src/redis.js';
import { SessionService } from '../src/session-service.js';
import { MemorySessionStore, RedisSessionStore } from '../src/session-store.js';
import { UserSyncService } from '../src/user-sync.js';
import { toVerifiedToken } from '../src/verified-token.js';
import { createTokenVerifier } from '../src/verifier.js';
import { buildTestApp } from './support/app.js';
import {
  createOrganisation,
  openTestDb,
  removeMembership,
  setMembership,
  type TestDb,
} from './support/database.js';
import { accessClaims, jwksFor, mainKey, POOL_ID, sign, testConfig } from './support/keys.js';
import { expectProblem } from './support/problem.js';
import { recordingDb, recordingLogger } from './support/recorder.js';

const now = () => Math.floor(Date.now() / 1000);
const prefix = `pf:test:${randomUUID()}`;
let db: TestDb;
let sharedRedis: Redis;
const verifier = createTokenVerifier(testConfig(), {
  fetcher: new StaticJwksFetcher(() => jwksFor(mainKey)),
});

beforeAll(async () => {
  db = await openTestDb('session');
  sharedRedis = new Redis(testEnvironment().redisUrl);
});
afterAll(async () => {
  sharedRedis.disconnect();
  await db.close();
});

function sessionsOn(
  store: RedisSessionStore | MemorySessionStore,
  queryable: Queryable = db.app,
  extra: Partial<ConstructorParameters<typeof SessionService>[0]> = {},
) {
  return new SessionService({
    db: queryable,
    store,
    userSync: new UserSyncService(queryable),
    keyPrefix: prefix,
    ...extra,
  });
}

const tokenFor = (sub: string, exp = now() + 3600) => sign(accessClaims({ sub, exp }));
const verified = (sub: string, exp = now() + 3600) => toVerifiedToken(accessClaims({ sub, exp }));

describe('SessionService with Redis', () => {
  it('caches under a versioned per-pool key with a TTL no longer than the token', async () => {
    const sessions = sessionsOn(new RedisSessionStore(sharedRedis));
    const sub = randomUUID();
    const session = await sessions.getSession(verified(sub, now() + 120));
    const key = sessions.key(POOL_ID, sub);
    expect(key).toBe(`${prefix}:v1:ctx:{${POOL_ID}}:${sub}`);
    const ttl = await sharedRedis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);
    expect(JSON.parse((await sharedRedis.get(key))!)).toMatchObject({
      userId: session.userId,
      sub,
      memberships: [],
    });
  });

  it('caches "member of nothing" for at most 30 s and members for the configured TTL', async () => {
    const sessions = sessionsOn(new RedisSessionStore(sharedRedis), db.app, {
      ttlSeconds: 900,
      random: () => 0,
    });
    const lonely = randomUUID();
    await sessions.getSession(verified(lonely));
    expect(await sharedRedis.ttl(sessions.key(POOL_ID, lonely))).toBeLessThanOrEqual(30);

    const member = randomUUID();
    const first = await sessions.getSession(verified(member));
    await setMembership(db.admin, await createOrganisation(db.admin), first.userId, 'member');
    await sessions.invalidate(first.userId);
    await sessions.getSession(verified(member));
    const ttl = await sharedRedis.ttl(sessions.key(POOL_ID, member));
    expect(ttl).toBeGreaterThan(30);
    expect(ttl).toBeLessThanOrEqual(900);
  });

  it('serves the cache until invalidate(userId), then reads PostgreSQL again', async () => {
    const recorded = recordingDb(db.app);
    const sessions = sessionsOn(new RedisSessionStore(sharedRedis), recorded);
    const sub = randomUUID();
    const first = await sessions.getSession(verified(sub));
    const organisationId = await createOrganisation(db.admin);
    await setMembership(db.admin, organisationId, first.userId, 'admin');

    const cached = await sessions.getSession(verified(sub));
    expect(cached.memberships).toEqual([]);
    expect(recorded.count('user_memberships')).toBe(1);

    await sessions.invalidate(first.userId);
    const fresh = await sessions.getSession(verified(sub));
    expect(fresh.memberships).toEqual([
      { organisationId, role: 'admin', status: 'active', organisationStatus: 'active' },
    ]);
    expect(recorded.count('user_memberships')).toBe(2);
  });

  it('ignores an entry written under an older version (a load that raced an invalidation)', async () => {
    const recorded = recordingDb(db.app);
    const sessions = sessionsOn(new RedisSessionStore(sharedRedis), recorded);
    const sub = randomUUID();
    await sessions.getSession(verified(sub));
    const key = sessions.key(POOL_ID, sub);
    const stale = (await sharedRedis.get(key))!;
    await sessions.invalidateIdentity(POOL_ID, sub);
    await sharedRedis.set(key, stale, 'EX', 60);
    await sessions.getSession(verified(sub));
    expect(recorded.count('user_memberships')).toBe(2);
  });

  it('loads once for concurrent misses', async () => {
    const recorded = recordingDb(db.app);
    const sessions = sessionsOn(new RedisSessionStore(sharedRedis), recorded);
    const sub = randomUUID();
    const results = await Promise.all(Array.from({ length: 20 }, () => sessions.getSession(verified(sub))));
    expect(new Set(results.map((session) => session.userId)).size).toBe(1);
    expect(recorded.count('user_memberships')).toBe(1);
    expect(recorded.count('app.sync_user')).toBe(1);
  });

  it('does not let a request made after invalidate() share a load that read the old memberships', async () => {
    // The memberships read waits at `gate` after it ran, so the removal commits in between.
    let gate: Promise<void> | undefined;
    const slow: Queryable = {
      async query(text: string, values?: unknown[]) {
        const result = await db.app.query(text, values);
        if (text.includes('user_memberships') && gate) await gate;
        return result;
      },
    } as Queryable;
    const sessions = sessionsOn(new RedisSessionStore(sharedRedis), slow);
    const sub = randomUUID();
    const { userId } = await sessions.getSession(verified(sub));
    const organisationId = await createOrganisation(db.admin);
    await setMembership(db.admin, organisationId, userId, 'owner');
    await sessions.invalidate(userId);

    let release!: () => void;
    gate = new Promise((resolve) => {
      release = resolve;
    });
    const before = sessions.getSession(verified(sub));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await removeMembership(db.admin, organisationId, userId);
    await sessions.invalidate(userId);
    gate = undefined;
    const after = sessions.getSession(verified(sub));
    release();
    expect((await before).memberships).toHaveLength(1);
    expect((await after).memberships).toEqual([]);
    expect((await sessions.getSession(verified(sub))).memberships).toEqual([]);
  });

  it('does not cache a session for a token that is already past its expiry', async () => {
    const sessions = sessionsOn(new RedisSessionStore(sharedRedis));
    const sub = randomUUID();
    await sessions.getSession(verified(sub, now() - 1));
    expect(await sharedRedis.exists(sessions.key(POOL_ID, sub))).toBe(0);
  });
});

describe('in-process store (no REDIS_URL)', () => {
  it('expires entries and honours invalidation', async () => {
    const recorded = recordingDb(db.app);
    const sessions = sessionsOn(new MemorySessionStore(), recorded, { ttlSeconds: 60, random: () => 0 });
    const sub = randomUUID();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const first = await sessions.getSession(verified(sub, now() + 3600));
      await sessions.getSession(verified(sub, now() + 3600));
      expect(recorded.count('user_memberships')).toBe(1);
      vi.setSystemTime(Date.now() + 31_000);
      // Member of nothing: cached for 30 s only.
      await sessions.getSession(verified(sub, now() + 3600));
      expect(recorded.count('user_memberships')).toBe(2);
      await sessions.invalidate(first.userId);
      await sessions.getSession(verified(sub, now() + 3600));
      expect(recorded.count('user_memberships')).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('outages', () => {
  let app: FastifyInstance | undefined;
  afterAll(async () => {
    await app?.close();
  });

  it('answers correctly from PostgreSQL when Redis stops mid-test, and 503 when PostgreSQL is down too', async () => {
    const redisServer = await startRedisServer();
    const logger = recordingLogger();
    const store = new RedisSessionStore(createSessionRedis(redisServer.url, { logger }));
    const sessions = sessionsOn(store, db.app, { logger });
    app = await buildTestApp({ verifier, sessions });
    const sub = randomUUID();
    const token = tokenFor(sub);
    try {
      const first = await app.inject({ url: '/session', headers: { authorization: `Bearer ${token}` } });
      expect(first.statusCode).toBe(200);
      const userId = first.json().userId as string;
      const organisationId = await createOrganisation(db.admin);
      await setMembership(db.admin, organisationId, userId, 'member');
      await sessions.invalidate(userId);
      const withMembership = await app.inject({
        url: '/org',
        headers: { authorization: `Bearer ${token}`, 'x-organisation-id': organisationId },
      });
      expect(withMembership.statusCode).toBe(200);

      await redisServer.stop();
      // The membership is revoked while Redis is down; nobody can invalidate the cache.
      await removeMembership(db.admin, organisationId, userId);
      const degraded = await app.inject({
        url: '/org',
        headers: { authorization: `Bearer ${token}`, 'x-organisation-id': organisationId },
      });
      expectProblem(degraded, 403, 'not_a_member');
      const session = await app.inject({ url: '/session', headers: { authorization: `Bearer ${token}` } });
      expect(session.statusCode).toBe(200);
      expect(session.json().userId).toBe(userId);
      // Straight through the service (the app logs to request.log): the fallback is logged as degraded.
      expect((await sessions.getSession(verified(sub))).memberships).toEqual([]);
      expect(
        logger.lines.some(
          (line) => line.level === 'warn' && (line.object as { degraded?: boolean }).degraded === true,
        ),
      ).toBe(true);

      // PostgreSQL unreachable as well: 503, never 200.
      const deadDb = new pg.Pool({
        connectionString: `postgres://nobody@127.0.0.1:${await freePort()}/none`,
        connectionTimeoutMillis: 1000,
      });
      const bothDown = await buildTestApp({ verifier, sessions: sessionsOn(store, deadDb, { logger }) });
      try {
        const response = await bothDown.inject({
          url: '/session',
          headers: { authorization: `Bearer ${tokenFor(randomUUID())}` },
        });
        expectProblem(response, 503, 'session_unavailable');
      } finally {
        await bothDown.close();
        await deadDb.end();
      }
    } finally {
      await store.close();
      await redisServer.stop();
    }
  });
});
