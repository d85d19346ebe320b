import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticJwksFetcher } from '../src/jwks-fetchers.js';
import { SessionService } from '../src/session-service.js';
import { MemorySessionStore } from '../src/session-store.js';
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
import {
  accessClaims,
  idClaims,
  jwksFor,
  mainKey,
  OTHER_POOL_ID,
  POOL_ID,
  sign,
  testConfig,
} from './support/keys.js';
import { expectProblem } from './support/problem.js';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb('usersync');
});
afterAll(async () => {
  await db.close();
});

async function usersWithSub(sub: string) {
  const { rows } = await db.admin.query('SELECT * FROM iam.users WHERE cognito_sub = $1', [sub]);
  return rows;
}

describe('UserSyncService', () => {
  it('creates one row for 50 concurrent first requests of a new sub, all answered 200', async () => {
    // Separate services per request: no shared single-flight, so the race reaches PostgreSQL.
    const verifier = createTokenVerifier(testConfig(), {
      fetcher: new StaticJwksFetcher(() => jwksFor(mainKey)),
    });
    const apps = await Promise.all(
      Array.from({ length: 5 }, () =>
        buildTestApp({
          verifier,
          sessions: new SessionService({
            db: db.app,
            store: new MemorySessionStore(),
            userSync: new UserSyncService(db.app),
          }),
        }),
      ),
    );
    try {
      const sub = randomUUID();
      const token = sign(accessClaims({ sub }));
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          apps[i % apps.length]!.inject({ url: '/session', headers: { authorization: `Bearer ${token}` } }),
        ),
      );
      expect(responses.map((response) => response.statusCode)).toEqual(Array(50).fill(200));
      const rows = await usersWithSub(sub);
      expect(rows).toHaveLength(1);
      expect(new Set(responses.map((response) => response.json().userId))).toEqual(new Set([rows[0].id]));
      // And straight at the database: 50 parallel upserts, one row.
      const sync = new UserSyncService(db.app);
      const other = randomUUID();
      const synced = await Promise.all(
        Array.from({ length: 50 }, () => sync.sync(toVerifiedToken(accessClaims({ sub: other })))),
      );
      expect(new Set(synced.map((user) => user.id)).size).toBe(1);
      expect(synced.filter((user) => user.created)).toHaveLength(1);
      expect(await usersWithSub(other)).toHaveLength(1);
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });

  it("refuses another pool's token for the same sub instead of handing it that user's memberships", async () => {
    const verifier = createTokenVerifier(testConfig(), {
      fetcher: new StaticJwksFetcher(() => jwksFor(mainKey)),
    });
    const sessions = new SessionService({
      db: db.app,
      store: new MemorySessionStore(),
      userSync: new UserSyncService(db.app),
    });
    const app = await buildTestApp({ verifier, sessions });
    try {
      const sub = randomUUID();
      const ownToken = sign(accessClaims({ sub }));
      const owner = await app.inject({ url: '/session', headers: { authorization: `Bearer ${ownToken}` } });
      const { userId } = owner.json();
      const organisationId = await createOrganisation(db.admin);
      await setMembership(db.admin, organisationId, userId, 'owner');
      await sessions.invalidate(userId);

      const otherPool = sign(
        accessClaims({ sub, iss: `https://cognito-idp.eu-west-1.amazonaws.com/${OTHER_POOL_ID}` }),
      );
      for (const url of ['/session', '/org']) {
        expectProblem(
          await app.inject({
            url,
            headers: { authorization: `Bearer ${otherPool}`, 'x-organisation-id': organisationId },
          }),
          401,
          'token_invalid',
        );
      }
      expect(await usersWithSub(sub)).toMatchObject([{ id: userId, cognito_pool_id: POOL_ID }]);
      // The rightful user keeps their row, pool and memberships (and invalidation still reaches them).
      await removeMembership(db.admin, organisationId, userId);
      await sessions.invalidate(userId);
      const after = await app.inject({ url: '/session', headers: { authorization: `Bearer ${ownToken}` } });
      expect(after.json()).toEqual({ userId, memberships: [] });
    } finally {
      await app.close();
    }
  });

  it('loads the session of a user whose email or name the row cannot hold, without them (not a 503)', async () => {
    const sessions = new SessionService({
      db: db.app,
      store: new MemorySessionStore(),
      userSync: new UserSyncService(db.app),
    });
    const sub = randomUUID();
    await sessions.getSession(
      toVerifiedToken(idClaims({ sub, email: 'ada@example.com', given_name: 'Ada' })),
    );
    await sessions.invalidateIdentity(POOL_ID, sub);
    for (const claims of [
      { email: 'ada@localhost' },
      { email: 'ada lovelace@example.com' },
      { email: 'ada@example.com', given_name: 'A\u0000da', family_name: 'By\u0000ron' },
    ]) {
      const session = await sessions.getSession(toVerifiedToken(idClaims({ sub, ...claims })));
      await sessions.invalidateIdentity(POOL_ID, sub);
      expect(session.sub).toBe(sub);
    }
    expect(await usersWithSub(sub)).toMatchObject([
      { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace' },
    ]);
    // An address the row cannot hold leaves the stored one unverified (no invitation matches it).
    await sessions.getSession(toVerifiedToken(idClaims({ sub, email: 'ada@localhost' })));
    expect(await usersWithSub(sub)).toMatchObject([{ email: 'ada@example.com', email_verified: false }]);
  });

  it('fills and refreshes email and names from ID tokens, never erasing them from access tokens', async () => {
    const sync = new UserSyncService(db.app);
    const sub = randomUUID();
    await sync.sync(toVerifiedToken(accessClaims({ sub })));
    expect(await usersWithSub(sub)).toMatchObject([
      { email: null, email_verified: false, cognito_pool_id: POOL_ID },
    ]);

    await sync.sync(
      toVerifiedToken(
        idClaims({ sub, email: 'ada@example.com', given_name: 'Ada', family_name: 'Lovelace' }),
      ),
    );
    expect(await usersWithSub(sub)).toMatchObject([
      { email: 'ada@example.com', email_verified: true, first_name: 'Ada', last_name: 'Lovelace' },
    ]);

    await sync.sync(
      toVerifiedToken(
        idClaims({ sub, email: 'ada@new.example', email_verified: false, given_name: 'Augusta' }),
      ),
    );
    expect(await usersWithSub(sub)).toMatchObject([
      { email: 'ada@new.example', email_verified: false, first_name: 'Augusta', last_name: 'Lovelace' },
    ]);

    await sync.sync(toVerifiedToken(accessClaims({ sub })));
    const [row] = await usersWithSub(sub);
    expect(row).toMatchObject({ email: 'ada@new.example', first_name: 'Augusta', last_name: 'Lovelace' });
    expect(row.last_seen_at).toBeInstanceOf(Date);
  });
});
