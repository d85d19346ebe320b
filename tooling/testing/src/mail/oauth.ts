import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  issueRefreshToken,
  type MailAccounts,
  refreshTokenGrant,
  revokeRefreshToken,
  tokenRefreshFailure,
} from './accounts.js';

export interface TestOAuth {
  /**
   * Consent page: consents at once as the `login_hint` address (the test user) and redirects to
   * `redirect_uri` with an authorisation code and the state, as a provider does after the user
   * clicked "Allow".
   */
  authorizeUrl: string;
  /** Token endpoint (grant_type=refresh_token, and authorization_code with PKCE), like Google's and Microsoft's. */
  tokenUrl: string;
  /** Dovecot's token check (GET …?access_token=). */
  tokeninfoUrl: string;
  /** The address an access token belongs to, when valid. */
  ownerOf(accessToken: string): string | undefined;
  /**
   * The next `count` authorisation-code redemptions fail as a provider in an outage does (503
   * `temporarily_unavailable`, or the `status` and `error` given, e.g. 429 throttling): with
   * `codeUsed`, after using the code up (the answer was lost on the way back), else without
   * looking at it.
   */
  failCodeRedemptions(count: number, options?: { codeUsed?: boolean; status?: number; error?: string }): void;
  close(): Promise<void>;
}

/**
 * A local OAuth 2.0 authorisation server for mailboxes that authenticate with XOAUTH2: exchanges
 * refresh tokens (issued by issueRefreshToken) for short-lived access tokens, answers `invalid_grant`
 * once a refresh token is revoked, replaces rotating refresh tokens at each use (as Microsoft
 * may), fails refreshes of an address while failTokenRefreshes says so, and lets Dovecot check access
 * tokens.
 */
export async function startTestOAuth(accounts: MailAccounts, accessTtlSeconds = 3600): Promise<TestOAuth> {
  const issued = new Map<string, { owner: string; expiresAt: number }>();
  const codes = new Map<
    string,
    { owner: string; clientId: string; redirectUri: string; challenge: string }
  >();
  let failing = { count: 0, codeUsed: false, status: 503, error: 'temporarily_unavailable' };
  const ownerOf = (token: string) => {
    const entry = issued.get(token);
    return entry && entry.expiresAt > Date.now() ? entry.owner : undefined;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(body));
      };
      const url = new URL(req.url ?? '/', 'http://oauth.test');
      if (req.method === 'GET' && url.pathname === '/authorize') {
        const q = url.searchParams;
        const [redirectUri, owner, challenge] = [
          q.get('redirect_uri'),
          q.get('login_hint'),
          q.get('code_challenge'),
        ];
        if (
          !redirectUri ||
          !owner ||
          !challenge ||
          q.get('response_type') !== 'code' ||
          q.get('code_challenge_method') !== 'S256'
        )
          return json(400, { error: 'invalid_request' });
        const code = `ac_${randomBytes(18).toString('hex')}`;
        codes.set(code, {
          owner: owner.toLowerCase(),
          clientId: q.get('client_id') ?? '',
          redirectUri,
          challenge,
        });
        const back = new URL(redirectUri);
        back.searchParams.set('state', q.get('state') ?? '');
        back.searchParams.set('code', code);
        res.writeHead(302, { location: back.href });
        return res.end();
      }
      if (req.method === 'POST' && url.pathname === '/token') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        if (form.get('grant_type') === 'authorization_code') {
          const outage = failing.count > 0 ? failing : undefined;
          if (outage) outage.count--;
          if (outage && !outage.codeUsed) return json(outage.status, { error: outage.error });
          // One use; bound to the client, the redirect and the PKCE verifier (RFC 7636 S256).
          const grant = codes.get(form.get('code') ?? '');
          codes.delete(form.get('code') ?? '');
          if (outage) return json(outage.status, { error: outage.error });
          const verifier = form.get('code_verifier') ?? '';
          if (
            !grant ||
            grant.clientId !== form.get('client_id') ||
            grant.redirectUri !== form.get('redirect_uri') ||
            grant.challenge !== createHash('sha256').update(verifier).digest('base64url')
          )
            return json(400, { error: 'invalid_grant', error_description: 'Bad authorization code.' });
          const accessToken = `at_${randomBytes(18).toString('hex')}`;
          issued.set(accessToken, { owner: grant.owner, expiresAt: Date.now() + accessTtlSeconds * 1000 });
          return json(200, {
            access_token: accessToken,
            expires_in: accessTtlSeconds,
            token_type: 'Bearer',
            refresh_token: issueRefreshToken(accounts, grant.owner),
          });
        }
        if (form.get('grant_type') !== 'refresh_token' || !form.get('client_id'))
          return json(400, { error: 'invalid_request' });
        const refreshToken = form.get('refresh_token') ?? '';
        const grant = refreshTokenGrant(accounts, refreshToken);
        if (!grant)
          return json(400, {
            error: 'invalid_grant',
            error_description: 'Token has been expired or revoked.',
          });
        const { owner, rotating } = grant;
        // Before the token is used: a failed refresh neither rotates nor retires it.
        const failure = tokenRefreshFailure(accounts, owner);
        if (failure === 'reset') return req.socket.destroy();
        if (failure) return json(failure.status, failure.error ? { error: failure.error } : {});
        const accessToken = `at_${randomBytes(18).toString('hex')}`;
        issued.set(accessToken, { owner, expiresAt: Date.now() + accessTtlSeconds * 1000 });
        let next: string | undefined;
        if (rotating) {
          next = issueRefreshToken(accounts, owner, { rotating: true });
          revokeRefreshToken(accounts, refreshToken);
        }
        return json(200, {
          access_token: accessToken,
          expires_in: accessTtlSeconds,
          token_type: 'Bearer',
          ...(next ? { refresh_token: next } : {}),
        });
      }
      if (req.method === 'GET' && url.pathname === '/tokeninfo') {
        const owner = ownerOf(url.searchParams.get('access_token') ?? '');
        if (!owner) return json(401, { error: 'invalid_token', active: false });
        return json(200, { email: owner, active: 'true' });
      }
      json(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    authorizeUrl: `${base}/authorize`,
    tokenUrl: `${base}/token`,
    tokeninfoUrl: `${base}/tokeninfo?access_token=`,
    ownerOf,
    failCodeRedemptions(count, options = {}) {
      failing = {
        count,
        codeUsed: options.codeUsed ?? false,
        status: options.status ?? 503,
        error: options.error ?? 'temporarily_unavailable',
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
