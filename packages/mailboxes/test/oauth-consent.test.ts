import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONSENT_SCOPES,
  consentUrl,
  newConsentSecrets,
  OAuthCodeRefused,
  oauthClientsFromEnv,
  redeemAuthorizationCode,
} from '../src/index.js';

/** A token endpoint on a real socket answering what `next` says, recording each form it receives. */
describe('OAuth consent (authorisation code + PKCE)', () => {
  let server: http.Server;
  let tokenUrl: string;
  const forms: URLSearchParams[] = [];
  let next: { status: number; body: object } = { status: 200, body: {} };
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        forms.push(new URLSearchParams(body));
        res.writeHead(next.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(next.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const client = () => ({ clientId: 'cid', clientSecret: 'csecret', tokenUrl });

  it('a fresh state and verifier each time, the challenge being the S256 of the verifier', () => {
    const a = newConsentSecrets();
    const b = newConsentSecrets();
    expect(a.state).not.toBe(b.state);
    expect(a.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.codeChallenge).toBe(createHash('sha256').update(a.codeVerifier).digest('base64url'));
  });

  it("the consent page is the provider's (or the configured one) with the mail scopes and offline access", () => {
    const request = {
      redirectUri: 'https://app.test/cb',
      state: 's1',
      codeChallenge: 'c1',
      loginHint: 'a@b.test',
    };
    const microsoft = new URL(consentUrl('microsoft', client(), request));
    expect(microsoft.href.startsWith('https://login.microsoftonline.com/common/oauth2/v2.0/authorize?')).toBe(
      true,
    );
    expect(microsoft.searchParams.get('scope')).toBe(CONSENT_SCOPES.microsoft);
    expect(microsoft.searchParams.get('scope')).toContain('offline_access');
    expect(microsoft.searchParams.get('access_type')).toBeNull();
    const google = new URL(
      consentUrl('google', { ...client(), authorizeUrl: 'http://127.0.0.1:1/authorize' }, request),
    );
    expect(Object.fromEntries(google.searchParams)).toEqual({
      client_id: 'cid',
      redirect_uri: 'https://app.test/cb',
      response_type: 'code',
      scope: 'https://mail.google.com/',
      state: 's1',
      code_challenge: 'c1',
      code_challenge_method: 'S256',
      login_hint: 'a@b.test',
      prompt: 'consent',
      access_type: 'offline',
      include_granted_scopes: 'false',
    });
    expect(
      oauthClientsFromEnv({ OAUTH_GOOGLE_CLIENT_ID: 'x', OAUTH_GOOGLE_AUTHORIZE_URL: 'http://a.test/auth' })
        .google,
    ).toMatchObject({ authorizeUrl: 'http://a.test/auth' });
  });

  it('redeems the code with the verifier, the redirect and the client credentials', async () => {
    next = { status: 200, body: { access_token: 'at', refresh_token: 'rt-1', expires_in: 3600 } };
    const redeemed = await redeemAuthorizationCode('google', client(), {
      code: 'code-1',
      codeVerifier: 'verifier-1',
      redirectUri: 'https://app.test/cb',
    });
    expect(redeemed).toEqual({ refreshToken: 'rt-1' });
    expect(Object.fromEntries(forms.at(-1)!)).toEqual({
      grant_type: 'authorization_code',
      code: 'code-1',
      code_verifier: 'verifier-1',
      redirect_uri: 'https://app.test/cb',
      client_id: 'cid',
      client_secret: 'csecret',
    });
  });

  it('a refused code or a grant without a refresh token is OAuthCodeRefused; a failing endpoint is not', async () => {
    const redeem = () =>
      redeemAuthorizationCode('microsoft', client(), {
        code: 'c',
        codeVerifier: 'v',
        redirectUri: 'https://app.test/cb',
      });
    next = { status: 400, body: { error: 'invalid_grant', error_description: 'AADSTS70008: expired' } };
    await expect(redeem()).rejects.toThrow(OAuthCodeRefused);
    await expect(redeem()).rejects.toThrow(/invalid_grant: AADSTS70008: expired/);
    next = { status: 200, body: { access_token: 'at', expires_in: 3600 } };
    await expect(redeem()).rejects.toThrow(/no refresh token/);
    next = { status: 503, body: {} };
    const failure = await redeem().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(OAuthCodeRefused);
  });
});
