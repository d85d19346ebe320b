import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthConfigError, loadAuthConfig } from '../src/config.js';
import { DevIssuer } from '../src/dev/dev-issuer.js';
import { createAuthServices, createTokenVerifierFromConfig } from '../src/factories.js';
import { devJwksPlugin } from '../src/plugins/jwks-route.js';
import { MemorySessionStore } from '../src/session-store.js';
import { HttpUserInfoEndpoint, UserInfoClient } from '../src/user-info.js';
import { UserSyncService } from '../src/user-sync.js';
import { openTestDb, type TestDb } from './support/database.js';
import { recordingLogger } from './support/recorder.js';

const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-userinfo-'));
const env = { AUTH_MODE: 'dev', AUTH_DEV_KEY_DIR: keyDir, COGNITO_TOKEN_USE: 'access' };
const issuer = DevIssuer.fromConfig(loadAuthConfig(env), env);

let db: TestDb;
/** The dev issuer's userInfo over real HTTP, counting its calls. */
let server: FastifyInstance;
let userInfoUrl: string;
let calls = 0;

beforeAll(async () => {
  db = await openTestDb('userinfo');
  server = Fastify({ logger: false });
  server.addHook('onRequest', async () => {
    calls += 1;
  });
  await server.register(devJwksPlugin, { issuer, userInfoPath: '/oauth2/userInfo' });
  await server.listen({ port: 0, host: '127.0.0.1' });
  userInfoUrl = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}/oauth2/userInfo`;
});
afterAll(async () => {
  await server?.close();
  await db?.close();
  fs.rmSync(keyDir, { recursive: true, force: true });
});

async function storedUser(sub: string) {
  const { rows } = await db.admin.query(
    'SELECT email::text AS email, email_verified AS "emailVerified" FROM iam.users WHERE cognito_sub = $1',
    [sub],
  );
  return rows[0];
}

/** A plain HTTP server answering every request with `answer()` (a fake userInfo endpoint). */
async function fakeEndpoint(answer: (request: http.IncomingMessage) => { status: number; body: unknown }) {
  const fake = http.createServer((request, response) => {
    const { status, body } = answer(request);
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(fake.address() as AddressInfo).port}/oauth2/userInfo`,
    close: () => new Promise<void>((resolve) => fake.close(() => resolve())),
  };
}

function servicesWith(url: string, logger = recordingLogger()) {
  const services = createAuthServices({
    db: db.app,
    env: { ...env, COGNITO_USERINFO_URL: url },
    store: new MemorySessionStore(),
    logger,
  });
  return { services, logger };
}

describe('the dev issuer userInfo endpoint (real HTTP)', () => {
  it("answers an access token with its user's email and email_verified, as Cognito does", async () => {
    const token = issuer.mint({ email: 'ada@userinfo.test', type: 'access' });
    const response = await fetch(userInfoUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ email: 'ada@userinfo.test', email_verified: 'true' });
  });

  it('refuses ID tokens, foreign signatures and tokens without the openid scope', async () => {
    const ask = (token: string) => fetch(userInfoUrl, { headers: { authorization: `Bearer ${token}` } });
    expect((await ask(issuer.mint({ email: 'a@userinfo.test', type: 'id' }))).status).toBe(401);
    const [head, payload] = issuer.mint({ email: 'a@userinfo.test', type: 'access' }).split('.');
    expect((await ask(`${head}.${payload}.${Buffer.from('forged').toString('base64url')}`)).status).toBe(401);
    expect(
      (
        await ask(
          issuer.mint({ email: 'a@userinfo.test', type: 'access', scope: 'aws.cognito.signin.user.admin' }),
        )
      ).status,
    ).toBe(400);
    expect((await fetch(userInfoUrl)).status).toBe(401);
  });

  it('knows users minted by another process sharing the key folder (pnpm token)', () => {
    const other = DevIssuer.fromConfig(loadAuthConfig(env), env);
    const token = other.mint({ email: 'cli@userinfo.test', type: 'access', emailVerified: false });
    expect(issuer.userInfo(token)).toMatchObject({ email: 'cli@userinfo.test', email_verified: 'false' });
  });
});

describe('user sync with access tokens and COGNITO_USERINFO_URL', () => {
  it("stores the verified email userInfo gives for the token's sub, once per session load", async () => {
    const { services } = servicesWith(userInfoUrl);
    const raw = issuer.mint({ email: 'bea@userinfo.test', type: 'access' });
    const token = await services.verifier.verify(raw);
    const before = calls;
    const session = await services.sessions.getSession(token);
    expect(await storedUser(token.sub)).toEqual({ email: 'bea@userinfo.test', emailVerified: true });
    // Cached session: no further userInfo call for ordinary requests.
    for (let i = 0; i < 5; i++)
      expect((await services.sessions.getSession(token)).userId).toBe(session.userId);
    expect(calls - before).toBe(1);
    // Direct re-syncs of the same token (the invitation routes) reuse the answer for a while.
    await services.userSync.sync(token);
    await services.userSync.sync(token);
    expect(calls - before).toBe(1);
  });

  it('does not use an answer about another sub, nor an email that is not verified', async () => {
    const victim = 'victim@userinfo.test';
    const fake = await fakeEndpoint(() => ({
      status: 200,
      body: { sub: '00000000-0000-4000-8000-000000000000', email: victim, email_verified: 'true' },
    }));
    try {
      const { services, logger } = servicesWith(fake.url);
      const token = await services.verifier.verify(
        issuer.mint({ email: 'mallory@userinfo.test', type: 'access' }),
      );
      await services.userSync.sync(token);
      expect(await storedUser(token.sub)).toEqual({ email: null, emailVerified: false });
      expect(logger.lines.map((line) => line.message)).toContain(
        'userInfo answered for another sub; ignored',
      );
    } finally {
      await fake.close();
    }

    const unverified = issuer.mint({ email: 'eve@userinfo.test', type: 'access', emailVerified: false });
    const { services } = servicesWith(userInfoUrl);
    const token = await services.verifier.verify(unverified);
    await services.userSync.sync(token);
    expect(await storedUser(token.sub)).toEqual({ email: 'eve@userinfo.test', emailVerified: false });
  });

  it('an outage fails closed (the stored email counts as unverified, logged) without failing the request', async () => {
    const { services } = servicesWith(userInfoUrl);
    const raw = issuer.mint({ email: 'cy@userinfo.test', type: 'access' });
    const token = await services.verifier.verify(raw);
    await services.userSync.sync(token);
    expect(await storedUser(token.sub)).toEqual({ email: 'cy@userinfo.test', emailVerified: true });

    // Nothing listens there any more: connection refused.
    const down = await fakeEndpoint(() => ({ status: 503, body: { error: 'unavailable' } }));
    await down.close();
    {
      const { services: outage, logger } = servicesWith(down.url);
      const again = await outage.verifier.verify(raw);
      const session = await outage.sessions.getSession(again);
      expect(session.userId).toBeTruthy();
      expect(await storedUser(token.sub)).toEqual({ email: 'cy@userinfo.test', emailVerified: false });
      expect(logger.lines).toContainEqual(
        expect.objectContaining({ level: 'warn', message: 'userInfo endpoint unavailable' }),
      );
      expect(logger.lines).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          object: expect.objectContaining({ reason: 'unavailable' }),
          message: expect.stringMatching(/invitations are not matched/),
        }),
      );
    }
    // A 5xx answer is an outage too.
    const failing = await fakeEndpoint(() => ({ status: 500, body: {} }));
    try {
      const client = new UserInfoClient(new HttpUserInfoEndpoint(failing.url, 1000));
      const sync = new UserSyncService(db.app, { userInfo: client });
      const verifier = createTokenVerifierFromConfig(loadAuthConfig(env), { env });
      await sync.sync(await verifier.verify(raw));
      expect(await storedUser(token.sub)).toEqual({ email: 'cy@userinfo.test', emailVerified: false });
    } finally {
      await failing.close();
    }
  });

  it('is required (https) in production with COGNITO_TOKEN_USE=access', () => {
    const production = {
      NODE_ENV: 'production',
      COGNITO_USER_POOL_ID: 'eu-west-1_A1',
      COGNITO_CLIENT_ID: 'c',
      REDIS_URL: 'redis://r',
    };
    const problems = (extra: Record<string, string>) => {
      try {
        loadAuthConfig({ ...production, ...extra });
        return [];
      } catch (error) {
        return (error as AuthConfigError).problems;
      }
    };
    expect(problems({})).toEqual([expect.stringMatching(/COGNITO_USERINFO_URL is required/)]);
    expect(problems({ COGNITO_USERINFO_URL: 'http://auth.example.com/oauth2/userInfo' })).toEqual([
      expect.stringMatching(/COGNITO_USERINFO_URL must use https/),
    ]);
    expect(problems({ COGNITO_USERINFO_URL: 'https://auth.example.com/oauth2/userInfo' })).toEqual([]);
    expect(problems({ COGNITO_TOKEN_USE: 'id' })).toEqual([]);
  });
});
