import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

/**
 * Invitations with the deployed COGNITO_TOKEN_USE=access (issue 14 item 2): access tokens carry no
 * email, so the API asks Cognito's OIDC userInfo endpoint (COGNITO_USERINFO_URL) for the verified
 * one. Here that endpoint is the dev issuer's, over real HTTP, and can be switched to answer for
 * another `sub` or to be down.
 */
let t: TestApp;
let owner: TestUser;
let mode: 'issuer' | 'other-sub' | 'down' = 'issuer';
const calls: string[] = [];
const logs: string[] = [];

const server = http.createServer((request, response) => {
  const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
  calls.push(token);
  const send = (status: number, body: unknown) =>
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (mode === 'down') return send(503, { message: 'unavailable' });
  try {
    const answer = t.app.authServices.devIssuer!.userInfo(token);
    if (mode === 'other-sub')
      return send(200, {
        ...answer,
        sub: '11111111-1111-4111-8111-111111111111',
        email: 'ceo@victim.test',
        email_verified: 'true',
      });
    return send(200, answer);
  } catch {
    return send(401, { error: 'invalid_token' });
  }
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  t = await buildTestApp({
    label: 'access-tokens',
    env: {
      COGNITO_TOKEN_USE: 'access',
      COGNITO_USERINFO_URL: `http://127.0.0.1:${port}/oauth2/userInfo`,
      LOG_LEVEL: 'warn',
    },
    logStream: new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  });
  const ownerToken = t.token('owner@access.test', { type: 'access' });
  const created = await t.app.inject({
    method: 'POST',
    url: '/v1/organisations',
    headers: { authorization: `Bearer ${ownerToken}` },
    payload: { name: 'Access Org' },
  });
  expect(created.statusCode, created.body).toBe(201);
  const organisationId = created.json().id as string;
  owner = { email: 'owner@access.test', token: ownerToken, userId: '', organisationId, headers: {} };
});
afterAll(async () => {
  await t?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function invite(email: string) {
  const res = await t.request(owner, {
    method: 'POST',
    url: `/v1/organisations/${owner.organisationId}/invitations`,
    payload: { email, role: 'member' },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

const as = (token: string) => ({ token, organisationId: '' });
const received = async (token: string) =>
  (await t.request(as(token), { method: 'GET', url: '/v1/invitations', organisationId: null })).json()
    .items as {
    id: string;
  }[];
const accept = (token: string, id: string) =>
  t.request(as(token), { method: 'POST', url: `/v1/invitations/${id}/accept`, organisationId: null });
const companies = async (token: string) =>
  (await t.request({ token, organisationId: owner.organisationId }, { method: 'GET', url: '/v1/companies' }))
    .statusCode;

describe('access tokens and the userInfo endpoint', () => {
  it('an invited user signed in with an access token sees the invitation and accepts it; userInfo is asked once, not per request', async () => {
    mode = 'issuer';
    const bob = t.token('bob@access.test', { type: 'access' });
    // Signed in before the invitation exists: the session is cached with no membership.
    expect(
      (await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${bob}` } }))
        .statusCode,
    ).toBe(200);
    const id = await invite('bob@access.test');
    expect((await received(bob)).map((invitation) => invitation.id)).toEqual([id]);
    const accepted = await accept(bob, id);
    expect(accepted.statusCode, accepted.body).toBe(200);
    for (let i = 0; i < 5; i++) expect(await companies(bob)).toBe(200);
    expect(calls.filter((token) => token === bob)).toHaveLength(1);
  });

  it('an answer about another sub is not used: no invitation of that address is seen or accepted', async () => {
    const id = await invite('ceo@victim.test');
    mode = 'other-sub';
    try {
      const mallory = t.token('mallory@access.test', { type: 'access' });
      expect(await received(mallory)).toEqual([]);
      expect((await accept(mallory, id)).statusCode).toBe(404);
      expect(await companies(mallory)).toBe(403);
    } finally {
      mode = 'issuer';
    }
    const { rows } = await t.admin.query(`SELECT status FROM iam.organisation_invitations WHERE id = $1`, [
      id,
    ]);
    expect(rows[0].status).toBe('pending');
  });

  it('an email userInfo reports as not verified does not obtain the membership', async () => {
    const id = await invite('carol@access.test');
    const carol = t.token('carol@access.test', { type: 'access', emailVerified: false });
    expect(await received(carol)).toEqual([]);
    const refused = await accept(carol, id);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('email_not_verified');
    expect(await companies(carol)).toBe(403);
  });

  it('an outage matches no invitation (logged) and does not break ordinary requests', async () => {
    const id = await invite('dan@access.test');
    mode = 'down';
    try {
      const dan = t.token('dan@access.test', { type: 'access' });
      const me = await t.app.inject({
        method: 'GET',
        url: '/v1/me',
        headers: { authorization: `Bearer ${dan}` },
      });
      expect(me.statusCode, me.body).toBe(200);
      expect(await received(dan)).toEqual([]);
      expect((await accept(dan, id)).statusCode).toBe(404);
      // Members signed in with a fresh token keep working.
      const again = t.token('owner@access.test', { type: 'access', expiresInSeconds: 1800 });
      expect(await companies(again)).toBe(200);
      expect(logs.join('')).toMatch(/userInfo endpoint unavailable/);
      expect(logs.join('')).toMatch(/invitations are not matched/);
    } finally {
      mode = 'issuer';
    }
    // Once it answers again, the invitation is matched.
    const dan = t.token('dan@access.test', { type: 'access', expiresInSeconds: 1700 });
    expect((await received(dan)).map((invitation) => invitation.id)).toEqual([id]);
  });
});
