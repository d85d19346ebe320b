import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MintOptions } from '@prospectflow/auth-core';
import { ROLES, roleUrl } from '@prospectflow/db-schema';
import { createTestDatabase, type TestDatabase, testEnvironment } from '@prospectflow/testing';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { type AppOptions, buildApp } from '../../src/app.js';
import { type Env, loadConfig } from '../../src/config.js';

/** One key ring per test process for sealed secrets (mailbox credentials, DKIM keys). */
export const TEST_SECRETS_KEYS = `test:${randomBytes(32).toString('base64')}`;

/** One dev signing key per test process (the issuer creates it on first use). */
const devKeyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-ingest-devkey-'));

export interface TestUser {
  email: string;
  token: string;
  /** iam.users.id (known after the first authenticated request). */
  userId: string;
  organisationId: string;
  /** Authorization + x-organisation-id for this user's organisation. */
  headers: Record<string, string>;
}

export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  /** Superuser pool on the test database: seed or inspect rows behind RLS. Never use it in src/. */
  admin: pg.Pool;
  /** The key prefix of this app's cached sessions (its own, so tests sharing Redis do not meet). */
  authKeyPrefix: string;
  /** The environment the app was built from (DATABASE_URL as prospectflow_app, REDIS_URL…). */
  env: Env;
  /** A dev-issuer ID token for `email` (same email → same Cognito sub); `type: 'access'` for an access token. */
  token(email: string, options?: Omit<MintOptions, 'email'>): string;
  /** A new user who creates an organisation through the API and becomes its owner. */
  signUp(email?: string, organisationName?: string): Promise<TestUser>;
  /** A user who joins `owner`'s organisation with `role` through the API: invited, then accepting. */
  join(owner: TestUser, role: 'viewer' | 'member' | 'admin' | 'owner', email?: string): Promise<TestUser>;
  /** `app.inject` with a user's headers (and the organisation header unless `organisationId: null`). */
  request(
    user: Pick<TestUser, 'token' | 'organisationId'>,
    options: InjectOptions & { organisationId?: string | null },
  ): Promise<LightMyRequestResponse>;
  /** Runs `fn` first when the app closes (e.g. stop a worker process started for it). */
  onClose(fn: () => Promise<void>): void;
  close(): Promise<void>;
}

export interface BuildTestAppOptions {
  /** Extra or overriding environment variables (e.g. RATE_LIMIT_MAX). */
  env?: Env;
  /** Database name label (shows in pg_stat_activity). */
  label?: string;
  /** Capture pino output (set LOG_LEVEL in `env` too). */
  logStream?: AppOptions['logStream'];
  /** DATABASE_URL from the new database (e.g. through a pgBouncer); default: straight, as prospectflow_app. */
  databaseUrl?: (database: TestDatabase) => string;
}

let counter = 0;

/**
 * A real app on its own database (cloned from the migrated template), the run's Redis with keys
 * prefixed per app, and the auth stack in AUTH_MODE=dev. Call close() in afterAll.
 */
export async function buildTestApp(options: BuildTestAppOptions = {}): Promise<TestApp> {
  const environment = testEnvironment();
  const database = await createTestDatabase(options.label ?? 'ingest');
  const unique = `${process.pid}:${randomBytes(4).toString('hex')}`;
  const authKeyPrefix = `pf:test:${unique}:auth`;
  const env: Env = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: options.databaseUrl?.(database) ?? roleUrl(database.adminUrl, ROLES.app),
    ...(environment.redisUrl ? { REDIS_URL: environment.redisUrl } : {}),
    AUTH_MODE: 'dev',
    // ID tokens carry the email, which invitations need; access tokens work too.
    COGNITO_TOKEN_USE: 'both',
    AUTH_DEV_KEY_DIR: devKeyDir,
    RATE_LIMIT_NAMESPACE: `pf:test:${unique}:rl:`,
    PUBLIC_BASE_URL: 'http://127.0.0.1:3000',
    INBOUND_WEBHOOK_SECRET: 'test-inbound-secret',
    // Mailbox credentials are sealed with this test key ring; the test mail servers are on 127.0.0.1.
    SECRETS_LOCAL_KEYS: TEST_SECRETS_KEYS,
    MAIL_HOST_ALLOWLIST: '127.0.0.1',
    // Uploads of imports: a folder of this app's own, shared with the worker processes it starts.
    STORAGE_DRIVER: 'local',
    STORAGE_LOCAL_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'pf-ingest-storage-')),
    ...options.env,
  };
  const app = await buildApp(
    loadConfig(env),
    {
      authKeyPrefix,
      ...(options.logStream ? { logStream: options.logStream } : {}),
    },
    // Loading every route module through vitest's transform is slow on a busy machine.
    { pluginTimeout: 120_000 },
  );
  await app.ready();
  const admin = new pg.Pool({ connectionString: database.adminUrl, max: 3 });
  const issuer = app.authServices.devIssuer;
  if (!issuer) throw new Error('buildTestApp needs AUTH_MODE=dev');

  const token: TestApp['token'] = (email, mint = {}) => issuer.mint({ email, type: 'id', ...mint });

  const request: TestApp['request'] = (user, { organisationId, headers, ...rest }) => {
    const organisation = organisationId === undefined ? user.organisationId : organisationId;
    return app.inject({
      ...rest,
      headers: {
        authorization: `Bearer ${user.token}`,
        ...(organisation ? { 'x-organisation-id': organisation } : {}),
        ...headers,
      },
    });
  };

  const signUp: TestApp['signUp'] = async (email, organisationName) => {
    counter += 1;
    const address = email ?? `user${counter}-${randomBytes(3).toString('hex')}@example.test`;
    const userToken = token(address);
    const name = organisationName ?? `Org ${counter} ${randomBytes(2).toString('hex')}`;
    const created = await app.inject({
      method: 'POST',
      url: '/v1/organisations',
      headers: { authorization: `Bearer ${userToken}` },
      payload: { name },
    });
    if (created.statusCode !== 201) throw new Error(`signUp failed: ${created.statusCode} ${created.body}`);
    const organisationId = (created.json() as { id: string }).id;
    const me = await app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { authorization: `Bearer ${userToken}` },
    });
    const userId = (me.json() as { id: string }).id;
    return {
      email: address,
      token: userToken,
      userId,
      organisationId,
      headers: { authorization: `Bearer ${userToken}`, 'x-organisation-id': organisationId },
    };
  };

  const join: TestApp['join'] = async (owner, role, email) => {
    counter += 1;
    const address = email ?? `${role}${counter}-${randomBytes(3).toString('hex')}@example.test`;
    const userToken = token(address);
    // Membership by invitation: the owner invites the address, its user accepts (a first
    // request may already have accepted it on sign-in; accepting again is then a no-op).
    const invited = await request(owner, {
      method: 'POST',
      url: `/v1/organisations/${owner.organisationId}/invitations`,
      payload: { email: address, role },
    });
    if (invited.statusCode !== 201) throw new Error(`join failed: ${invited.statusCode} ${invited.body}`);
    const accepted = await app.inject({
      method: 'POST',
      url: `/v1/invitations/${(invited.json() as { id: string }).id}/accept`,
      headers: { authorization: `Bearer ${userToken}` },
    });
    if (accepted.statusCode !== 200) throw new Error(`join failed: ${accepted.statusCode} ${accepted.body}`);
    const me = await app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { authorization: `Bearer ${userToken}` },
    });
    return {
      email: address,
      token: userToken,
      userId: (me.json() as { id: string }).id,
      organisationId: owner.organisationId,
      headers: { authorization: `Bearer ${userToken}`, 'x-organisation-id': owner.organisationId },
    };
  };

  const cleanups: Array<() => Promise<void>> = [];
  return {
    app,
    database,
    admin,
    authKeyPrefix,
    env,
    token,
    signUp,
    join,
    request,
    onClose(fn) {
      cleanups.push(fn);
    },
    async close() {
      for (const fn of cleanups.splice(0)) await fn();
      await app.close();
      await admin.end();
      await database.drop();
      if (env.STORAGE_LOCAL_DIR) fs.rmSync(env.STORAGE_LOCAL_DIR, { recursive: true, force: true });
    },
  };
}
