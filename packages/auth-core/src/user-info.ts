import { createHash } from 'node:crypto';
import type { AuthLogger } from './logger.js';
import { rawTokenOf, type VerifiedToken } from './verified-token.js';

/** What an OIDC userInfo answer tells us about the token's user (only for the token's own `sub`). */
export interface UserInfo {
  sub: string;
  email: string | undefined;
  emailVerified: boolean;
}

/**
 * Answers the userInfo request for one access token: Cognito's `GET https://<domain>/oauth2/userInfo`
 * (COGNITO_USERINFO_URL), or the dev issuer in memory. Resolves the parsed JSON body; throws when
 * the endpoint cannot answer (outage, timeout, non-2xx).
 */
export interface UserInfoEndpoint {
  fetch(accessToken: string): Promise<unknown>;
}

/** The userInfo endpoint over HTTP(S) with a timeout, no redirects. */
export class HttpUserInfoEndpoint implements UserInfoEndpoint {
  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  async fetch(accessToken: string): Promise<unknown> {
    const response = await globalThis.fetch(this.url, {
      signal: AbortSignal.timeout(this.timeoutMs),
      headers: { accept: 'application/json', authorization: `Bearer ${accessToken}` },
      redirect: 'error',
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new Error(`userInfo endpoint answered ${response.status}`);
    }
    return await response.json();
  }
}

export type UserInfoOutcome =
  | { ok: true; info: UserInfo }
  | { ok: false; reason: 'no_raw_token' | 'no_openid_scope' | 'unavailable' | 'malformed' | 'sub_mismatch' };

interface MemoEntry {
  info: UserInfo;
  until: number;
}

const MEMO_SECONDS = 60;
const MEMO_MAX = 10_000;

/**
 * Learns an access token's verified email from the userInfo endpoint. The answer counts only when
 * its `sub` is the token's own; `email_verified` must be `true` (or Cognito's `"true"`). Successful
 * answers are remembered per access token for at most 60 s (and never past the token's expiry), so
 * the routes that re-read the user on each call do not call the endpoint each time; failures are
 * not remembered. Session loads call this once per load, so cached sessions cost no call at all.
 */
export class UserInfoClient {
  private readonly memo = new Map<string, MemoEntry>();

  constructor(
    private readonly endpoint: UserInfoEndpoint,
    private readonly now: () => number = Date.now,
  ) {}

  async lookup(token: VerifiedToken, logger: AuthLogger): Promise<UserInfoOutcome> {
    const raw = rawTokenOf(token);
    if (!raw) return { ok: false, reason: 'no_raw_token' };
    const scopes = typeof token.claims.scope === 'string' ? token.claims.scope.split(' ') : [];
    // Cognito's userInfo refuses access tokens without `openid` (e.g. from InitiateAuth).
    if (!scopes.includes('openid')) return { ok: false, reason: 'no_openid_scope' };
    const key = createHash('sha256').update(raw).digest('base64url');
    const now = this.now();
    const memo = this.memo.get(key);
    if (memo && memo.until > now) return { ok: true, info: memo.info };
    if (memo) this.memo.delete(key);

    let body: unknown;
    try {
      body = await this.endpoint.fetch(raw);
    } catch (error) {
      logger.warn({ err: error, sub: token.sub }, 'userInfo endpoint unavailable');
      return { ok: false, reason: 'unavailable' };
    }
    if (typeof body !== 'object' || body === null) return { ok: false, reason: 'malformed' };
    const answer = body as Record<string, unknown>;
    if (typeof answer.sub !== 'string') return { ok: false, reason: 'malformed' };
    if (answer.sub !== token.sub) {
      logger.warn({ sub: token.sub }, 'userInfo answered for another sub; ignored');
      return { ok: false, reason: 'sub_mismatch' };
    }
    const info: UserInfo = {
      sub: answer.sub,
      email: typeof answer.email === 'string' && answer.email !== '' ? answer.email : undefined,
      emailVerified: answer.email_verified === true || answer.email_verified === 'true',
    };
    if (this.memo.size >= MEMO_MAX) this.memo.clear();
    this.memo.set(key, { info, until: Math.min(now + MEMO_SECONDS * 1000, token.expiresAt * 1000) });
    return { ok: true, info };
  }
}
