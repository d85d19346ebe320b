import { createHash, randomBytes } from 'node:crypto';
import {
  CONSENT_SCOPES,
  DEFAULT_AUTHORIZE_URLS,
  type OAuthClient,
  type OAuthProvider,
  OAuthTemporaryFailure,
  temporaryTokenAnswer,
} from './oauth-tokens.js';

/**
 * Connecting a Google or Microsoft mailbox: the authorisation-code grant with PKCE (RFC 7636, S256)
 * that ends with the refresh token the worker's OAuthTokenCache uses. The app keeps the state and
 * the code verifier between the two halves; the user's browser only carries the state.
 */

/** A fresh state (sent through the browser) and PKCE verifier (kept by the app) with its challenge. */
export function newConsentSecrets(): { state: string; codeVerifier: string; codeChallenge: string } {
  const codeVerifier = randomBytes(32).toString('base64url');
  return {
    state: randomBytes(32).toString('base64url'),
    codeVerifier,
    codeChallenge: createHash('sha256').update(codeVerifier).digest('base64url'),
  };
}

/**
 * The provider's consent page for this mailbox: offline access (a refresh token), consent asked
 * again so Google returns a refresh token even to a user who consented before, and the address as
 * login hint so the user picks the account the mailbox sends as.
 */
export function consentUrl(
  provider: OAuthProvider,
  client: OAuthClient,
  request: { redirectUri: string; state: string; codeChallenge: string; loginHint: string },
): string {
  const url = new URL(client.authorizeUrl ?? DEFAULT_AUTHORIZE_URLS[provider]);
  const params = {
    client_id: client.clientId,
    redirect_uri: request.redirectUri,
    response_type: 'code',
    scope: CONSENT_SCOPES[provider],
    state: request.state,
    code_challenge: request.codeChallenge,
    code_challenge_method: 'S256',
    login_hint: request.loginHint,
    prompt: 'consent',
    ...(provider === 'google' ? { access_type: 'offline', include_granted_scopes: 'false' } : {}),
  };
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.href;
}

/** The provider refused the authorisation code (expired, used, or for another client or redirect). */
export class OAuthCodeRefused extends Error {
  override name = 'OAuthCodeRefused';
}

/**
 * Redeems an authorisation code for the refresh token. Throws OAuthCodeRefused when the provider
 * refuses it (4xx) or gives no refresh token (nothing a retry fixes: the user consents again),
 * OAuthTemporaryFailure when it throttles or fails (429, 408, 5xx: temporaryTokenAnswer), and a
 * network error as it comes when it cannot be reached.
 */
export async function redeemAuthorizationCode(
  provider: OAuthProvider,
  client: OAuthClient,
  request: { code: string; codeVerifier: string; redirectUri: string },
): Promise<{ refreshToken: string }> {
  const response = await fetch(client.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: request.code,
      code_verifier: request.codeVerifier,
      redirect_uri: request.redirectUri,
      client_id: client.clientId,
      client_secret: client.clientSecret,
    }),
    signal: AbortSignal.timeout(15_000),
  });
  const payload = (await response.json().catch(() => ({}))) as {
    refresh_token?: string;
    error?: string;
    error_description?: string;
  };
  const reason = `${payload.error ?? `HTTP ${response.status}`}${payload.error_description ? `: ${payload.error_description}` : ''}`;
  if (temporaryTokenAnswer(response.status, payload.error))
    throw new OAuthTemporaryFailure(`${provider} token endpoint unavailable (${reason})`);
  if (!response.ok) throw new OAuthCodeRefused(`${provider} refused the authorisation code (${reason})`);
  if (!payload.refresh_token)
    throw new OAuthCodeRefused(`${provider} granted no refresh token (offline access was not given)`);
  return { refreshToken: payload.refresh_token };
}
