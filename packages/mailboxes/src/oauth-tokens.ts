import { Optional, Secret, Text } from '@prospectflow/config';

/** OAuth providers whose mailboxes authenticate SMTP and IMAP with XOAUTH2. */
export type OAuthProvider = 'google' | 'microsoft';

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  /** Token endpoint; configurable so tests and staging use a local token server. */
  tokenUrl: string;
  /** Consent page a user connecting a mailbox is sent to (default: the provider's; oauth-consent.ts). */
  authorizeUrl?: string;
  /** Scopes sent with the refresh (Microsoft needs them; Google ignores them). */
  scope?: string;
}

export const DEFAULT_TOKEN_URLS: Record<OAuthProvider, string> = {
  google: 'https://oauth2.googleapis.com/token',
  microsoft: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
};
export const DEFAULT_AUTHORIZE_URLS: Record<OAuthProvider, string> = {
  google: 'https://accounts.google.com/o/oauth2/v2/auth',
  microsoft: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
};
const MICROSOFT_MAIL_SCOPES =
  'https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access';
/** Scopes asked on the consent page: full IMAP/SMTP access (Google's is restricted, its User Data Policy applies). */
export const CONSENT_SCOPES: Record<OAuthProvider, string> = {
  google: 'https://mail.google.com/',
  microsoft: MICROSOFT_MAIL_SCOPES,
};
/** Scopes sent with a refresh: Microsoft needs them, Google takes none. */
const REFRESH_SCOPES: Record<OAuthProvider, string | undefined> = {
  google: undefined,
  microsoft: MICROSOFT_MAIL_SCOPES,
};

/**
 * The OAuth clients' id and secret as @prospectflow/config fields, for a program's EnvObject: the
 * secrets are `Secret()`s, so production refuses a short or published one (Google's and
 * Microsoft's issued secrets are 35 and 40 characters). `oauthClientsFromEnv` reads the same names.
 */
export function oauthClientEnv() {
  return {
    OAUTH_GOOGLE_CLIENT_ID: Optional(Text({ description: 'Google OAuth client of connected mailboxes' })),
    OAUTH_GOOGLE_CLIENT_SECRET: Optional(Secret({ description: 'its secret' })),
    OAUTH_MICROSOFT_CLIENT_ID: Optional(
      Text({ description: 'Microsoft OAuth client of connected mailboxes' }),
    ),
    OAUTH_MICROSOFT_CLIENT_SECRET: Optional(Secret({ description: 'its secret' })),
  };
}

/** OAUTH_GOOGLE_CLIENT_ID / _CLIENT_SECRET / _TOKEN_URL / _AUTHORIZE_URL, same for MICROSOFT. */
export function oauthClientsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Partial<Record<OAuthProvider, OAuthClient>> {
  const clients: Partial<Record<OAuthProvider, OAuthClient>> = {};
  for (const provider of ['google', 'microsoft'] as const) {
    const prefix = `OAUTH_${provider.toUpperCase()}`;
    const clientId = env[`${prefix}_CLIENT_ID`];
    if (!clientId) continue;
    clients[provider] = {
      clientId,
      clientSecret: env[`${prefix}_CLIENT_SECRET`] ?? '',
      tokenUrl: env[`${prefix}_TOKEN_URL`] || DEFAULT_TOKEN_URLS[provider],
      authorizeUrl: env[`${prefix}_AUTHORIZE_URL`] || DEFAULT_AUTHORIZE_URLS[provider],
      scope: REFRESH_SCOPES[provider],
    };
  }
  return clients;
}

/** The provider refused the refresh token (`invalid_grant`: revoked, expired, password changed): the user must reconnect. */
export class OAuthReauthRequired extends Error {
  override name = 'OAuthReauthRequired';
}

/**
 * The provider refused our OAuth client (`invalid_client`, `unauthorized_client`, or another 4xx
 * about the request itself), or none is configured: an operator must fix OAUTH_<PROVIDER>_*.
 * Reconnecting the mailbox does not help; the refresh token may be fine.
 */
export class OAuthClientRefused extends Error {
  override name = 'OAuthClientRefused';
}

/**
 * The token endpoint could not give a token now (HTTP 408, 429, 5xx, `temporarily_unavailable`,
 * network error, timeout), or the rotated refresh token could not be read or stored: retry later,
 * nothing says the refresh token is bad.
 */
export class OAuthTemporaryFailure extends Error {
  override name = 'OAuthTemporaryFailure';
}

/** OAuth error codes (RFC 6749 §5.2 and what providers send) that say "try again later". */
const TEMPORARY_ERRORS = new Set(['temporarily_unavailable', 'server_error']);

/**
 * A token endpoint's answer that means "not now" — throttling (429), a timeout (408), an outage
 * (5xx, `temporarily_unavailable`, `server_error`) — for refreshes and code redemptions alike.
 */
export function temporaryTokenAnswer(status: number, error: string | undefined): boolean {
  return status === 408 || status === 429 || status >= 500 || TEMPORARY_ERRORS.has(error ?? '');
}

/**
 * What a failed refresh means (one definition): only `invalid_grant` condemns the refresh token;
 * throttling and outages are temporary whatever their status; any other refusal is about our client
 * or request, an operator's problem.
 */
function refusal(provider: OAuthProvider, status: number, error: string | undefined, reason: string): Error {
  if (error === 'invalid_grant')
    return new OAuthReauthRequired(`${provider} refused the refresh token (${reason})`);
  if (temporaryTokenAnswer(status, error))
    return new OAuthTemporaryFailure(`${provider} token endpoint unavailable (${reason})`);
  if (status >= 400) return new OAuthClientRefused(`${provider} refused our OAuth client (${reason})`);
  // A 2xx without an access token: a broken answer, not a refusal.
  return new OAuthTemporaryFailure(`${provider} token endpoint gave no access token (${reason})`);
}

export interface TokenRequest {
  provider: OAuthProvider;
  /** Cache key: the mailbox id and its credential version (a new refresh token = a new entry). */
  key: string;
  /** The refresh token as the caller read it (used when no stored one can be loaded). */
  refreshToken: string;
  /** The mailbox the token belongs to, for onRefreshTokenRotated / loadRefreshToken. */
  mailbox?: { organisationId: string; id: string; credentialsVersion: number };
}

interface Entry {
  accessToken: string;
  expiresAt: number;
}

export interface OAuthTokenCacheOptions {
  clients: Partial<Record<OAuthProvider, OAuthClient>>;
  /** Refresh this long before expiry (default 60 s). */
  marginMs?: number;
  now?: () => number;
  /** Token endpoint timeout (default 15 s). */
  timeoutMs?: number;
  /** Called when the provider rotates the refresh token (Microsoft does): persist it. */
  onRefreshTokenRotated?: (request: TokenRequest, refreshToken: string) => Promise<void>;
  /**
   * Reads the refresh token as stored now (undefined: none, or the credentials changed). With
   * several processes the stored token is the truth: another one may have rotated it since the
   * caller read it. Called before each refresh, and again after an `invalid_grant`.
   */
  loadRefreshToken?: (request: TokenRequest) => Promise<string | undefined>;
  /** Pause before re-reading the stored token after an `invalid_grant` (default 1 s): another process may be storing its rotation. */
  reloadDelayMs?: number;
}

/**
 * One access-token cache per process for SMTP and IMAP alike: a token is fetched once per mailbox
 * and reused until shortly before it expires; concurrent callers share one refresh.
 */
export class OAuthTokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Entry>>();
  /**
   * Rotated refresh tokens not stored (yet): only this process knows them, so they win over any
   * stored one. Without onRefreshTokenRotated they stay here for the process's life.
   */
  readonly #unstored = new Map<string, string>();
  readonly #options: OAuthTokenCacheOptions;
  /** Refresh requests sent (for tests and metrics). */
  refreshes = 0;

  constructor(options: OAuthTokenCacheOptions) {
    this.#options = options;
  }

  async accessToken(request: TokenRequest): Promise<string> {
    const now = (this.#options.now ?? Date.now)();
    const cached = this.#entries.get(request.key);
    if (cached && cached.expiresAt - (this.#options.marginMs ?? 60_000) > now) return cached.accessToken;
    let pending = this.#inflight.get(request.key);
    if (!pending) {
      pending = this.#refresh(request).finally(() => this.#inflight.delete(request.key));
      this.#inflight.set(request.key, pending);
    }
    return (await pending).accessToken;
  }

  /** Forget a mailbox's access token (the server refused it, or its credentials changed). */
  invalidate(key: string): void {
    this.#entries.delete(key);
  }

  async #refresh(request: TokenRequest): Promise<Entry> {
    const client = this.#options.clients[request.provider];
    if (!client)
      throw new OAuthClientRefused(
        `no OAuth client configured for ${request.provider} (OAUTH_${request.provider.toUpperCase()}_CLIENT_ID)`,
      );
    const used = this.#unstored.get(request.key) ?? (await this.#stored(request)) ?? request.refreshToken;
    try {
      return await this.#exchange(client, request, used);
    } catch (error) {
      if (!(error instanceof OAuthReauthRequired) || !this.#options.loadRefreshToken) throw error;
      // Another process may have rotated the token after our read (the provider retired ours):
      // if what is stored now differs, that one is the truth. One retry, then the refusal stands.
      await new Promise((resolve) => setTimeout(resolve, this.#options.reloadDelayMs ?? 1_000));
      const latest = await this.#stored(request);
      if (!latest || latest === used) throw error;
      if (this.#unstored.get(request.key) === used) this.#unstored.delete(request.key);
      return await this.#exchange(client, request, latest);
    }
  }

  async #stored(request: TokenRequest): Promise<string | undefined> {
    try {
      return await this.#options.loadRefreshToken?.(request);
    } catch (cause) {
      throw new OAuthTemporaryFailure(`the stored refresh token could not be read (${name(cause)})`, {
        cause,
      });
    }
  }

  async #exchange(client: OAuthClient, request: TokenRequest, refreshToken: string): Promise<Entry> {
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: client.clientId,
      client_secret: client.clientSecret,
      ...(client.scope ? { scope: client.scope } : {}),
    });
    this.refreshes += 1;
    let response: Response;
    let payload: {
      access_token?: string;
      expires_in?: number;
      refresh_token?: string;
      error?: string;
      error_description?: string;
    };
    try {
      response = await fetch(client.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 15_000),
      });
      payload = (await response.json().catch(() => ({}))) as typeof payload;
    } catch (cause) {
      // Refused, reset, DNS, TLS, timeout: the endpoint did not answer, the token was not judged.
      throw new OAuthTemporaryFailure(`${request.provider} token endpoint unreachable (${name(cause)})`, {
        cause,
      });
    }
    if (!response.ok || !payload.access_token) {
      const error = typeof payload.error === 'string' ? payload.error : undefined;
      const reason = `${error ?? `HTTP ${response.status}`}${payload.error_description ? `: ${payload.error_description}` : ''}`;
      throw refusal(request.provider, response.status, error, reason.slice(0, 300));
    }
    if (payload.refresh_token && payload.refresh_token !== refreshToken) {
      // Kept until stored: the provider may already have retired the one we used.
      this.#unstored.set(request.key, payload.refresh_token);
      if (this.#options.onRefreshTokenRotated) {
        try {
          await this.#options.onRefreshTokenRotated(request, payload.refresh_token);
        } catch (cause) {
          throw new OAuthTemporaryFailure(
            `the rotated refresh token could not be stored (${name(cause)}); kept in memory`,
            { cause },
          );
        }
        // Stored: from now on the stored one is the truth (another process may rotate it further).
        if (this.#unstored.get(request.key) === payload.refresh_token) this.#unstored.delete(request.key);
      }
    }
    const entry = {
      accessToken: payload.access_token,
      expiresAt: (this.#options.now ?? Date.now)() + (payload.expires_in ?? 3600) * 1000,
    };
    this.#entries.set(request.key, entry);
    return entry;
  }
}

/** An error's code or name for a message: never its text, which might quote a request. */
function name(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.cause?.code ?? e?.code;
  return typeof code === 'string' ? code : typeof e?.name === 'string' ? e.name : 'error';
}

/** The SASL XOAUTH2 initial response (RFC-less, Google/Microsoft format), base64. */
export function xoauth2(user: string, accessToken: string): string {
  return Buffer.from(`user=${user}\x01auth=Bearer ${accessToken}\x01\x01`).toString('base64');
}
