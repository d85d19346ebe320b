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

/** The provider refused the refresh token (revoked, expired, password changed): the user must reconnect. */
export class OAuthReauthRequired extends Error {
  override name = 'OAuthReauthRequired';
}

export interface TokenRequest {
  provider: OAuthProvider;
  /** Cache key: the mailbox id and its credential version (a new refresh token = a new entry). */
  key: string;
  refreshToken: string;
  /** The mailbox the token belongs to, for onRefreshTokenRotated to store a rotated token. */
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
  /** Called when the provider rotates the refresh token (Microsoft does): persist it. */
  onRefreshTokenRotated?: (request: TokenRequest, refreshToken: string) => Promise<void>;
}

/**
 * One access-token cache per process for SMTP and IMAP alike: a token is fetched once per mailbox
 * and reused until shortly before it expires; concurrent callers share one refresh.
 */
export class OAuthTokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Entry>>();
  /** The newest refresh token per key when the provider rotated it (callers may hold the old one). */
  readonly #rotated = new Map<string, string>();
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
      throw new OAuthReauthRequired(
        `no OAuth client configured for ${request.provider} (OAUTH_${request.provider.toUpperCase()}_CLIENT_ID)`,
      );
    const refreshToken = this.#rotated.get(request.key) ?? request.refreshToken;
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: client.clientId,
      client_secret: client.clientSecret,
      ...(client.scope ? { scope: client.scope } : {}),
    });
    this.refreshes += 1;
    const response = await fetch(client.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      signal: AbortSignal.timeout(15_000),
    });
    const payload = (await response.json().catch(() => ({}))) as {
      access_token?: string;
      expires_in?: number;
      refresh_token?: string;
      error?: string;
      error_description?: string;
    };
    if (!response.ok || !payload.access_token) {
      const reason = `${payload.error ?? `HTTP ${response.status}`}${payload.error_description ? `: ${payload.error_description}` : ''}`;
      // invalid_grant / invalid_client / unauthorized_client: nothing a retry fixes.
      if (response.status >= 400 && response.status < 500)
        throw new OAuthReauthRequired(`${request.provider} refused the refresh token (${reason})`);
      throw new Error(`${request.provider} token endpoint failed (${reason})`);
    }
    if (payload.refresh_token && payload.refresh_token !== refreshToken) {
      this.#rotated.set(request.key, payload.refresh_token);
      await this.#options.onRefreshTokenRotated?.(request, payload.refresh_token);
    }
    const entry = {
      accessToken: payload.access_token,
      expiresAt: (this.#options.now ?? Date.now)() + (payload.expires_in ?? 3600) * 1000,
    };
    this.#entries.set(request.key, entry);
    return entry;
  }
}

/** The SASL XOAUTH2 initial response (RFC-less, Google/Microsoft format), base64. */
export function xoauth2(user: string, accessToken: string): string {
  return Buffer.from(`user=${user}\x01auth=Bearer ${accessToken}\x01\x01`).toString('base64');
}
