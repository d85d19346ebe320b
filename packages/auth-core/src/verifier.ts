import { CognitoJwtVerifier } from 'aws-jwt-verify';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleFetcher } from 'aws-jwt-verify/https';
import { type JwksCache, SimpleJwksCache, SimplePenaltyBox } from 'aws-jwt-verify/jwk';
import type { AuthConfig } from './config.js';
import { mapVerificationError } from './error-mapping.js';
import { AuthError } from './errors.js';
import { UrlJwksFetcher } from './jwks-fetchers.js';
import { type AuthLogger, silentLogger } from './logger.js';
import { toVerifiedToken, type VerifiedToken, withRawToken } from './verified-token.js';

export interface TokenVerifier {
  readonly config: AuthConfig;
  /** Verifies a compact JWT; throws AuthError (401 token faults, 503 key trouble). */
  verify(token: string): Promise<VerifiedToken>;
  /** Loads the signing keys, giving up after `jwksTimeoutMs`. Resolves false on failure. */
  hydrate(): Promise<boolean>;
}

export interface TokenVerifierOptions {
  /** Where keys come from; defaults to AUTH_JWKS_URL, else Cognito over HTTPS. */
  fetcher?: Fetcher;
  /** Replace the whole key cache (advanced; `fetcher` is usually enough). */
  jwksCache?: JwksCache;
  logger?: AuthLogger;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function defaultFetcher(config: AuthConfig): Fetcher {
  if (config.jwksUrl) return new UrlJwksFetcher(config.jwksUrl, config.jwksTimeoutMs);
  return new SimpleFetcher({ defaultRequestOptions: { responseTimeout: config.jwksTimeoutMs } });
}

/**
 * One aws-jwt-verify CognitoJwtVerifier for every configured pool, built once. The library checks
 * signature, `alg` against the JWK, issuer, `exp`/`nbf` (with grace), client and `token_use`;
 * we add what it leaves lenient: a length cap, a required numeric `exp` and `iat`, and a string `sub`.
 */
export function createTokenVerifier(config: AuthConfig, options: TokenVerifierOptions = {}): TokenVerifier {
  const logger = options.logger ?? silentLogger;
  const jwksCache =
    options.jwksCache ??
    new SimpleJwksCache({
      fetcher: options.fetcher ?? defaultFetcher(config),
      penaltyBox: new SimplePenaltyBox({ waitSeconds: config.jwksPenaltySeconds }),
    });
  const verifier = CognitoJwtVerifier.create(
    config.userPoolIds.map((userPoolId) => ({
      userPoolId,
      clientId: config.clientIds,
      tokenUse: config.tokenUse === 'both' ? null : config.tokenUse,
      graceSeconds: config.clockToleranceSeconds,
    })),
    { jwksCache },
  );
  const retryAfterSeconds = Math.max(1, Math.ceil(config.jwksTimeoutMs / 1000));

  return {
    config,
    async verify(token) {
      if (token.length > config.maxTokenLength)
        throw new AuthError('token_too_long', 'The token is longer than allowed.');
      let claims: Record<string, unknown>;
      try {
        claims = (await verifier.verify(token)) as unknown as Record<string, unknown>;
      } catch (error) {
        const mapped = mapVerificationError(error, retryAfterSeconds);
        const level = mapped.status >= 500 ? 'error' : 'debug';
        logger[level]({ code: mapped.code, err: error }, 'bearer token rejected');
        throw mapped;
      }
      // aws-jwt-verify accepts a token without `exp`; we do not.
      if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) {
        throw new AuthError('token_missing_claim', 'The token has no valid expiry.');
      }
      // Cognito always sets `iat`; the library does not require it.
      if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) {
        throw new AuthError('token_missing_claim', 'The token has no valid issue time.');
      }
      // iam.users.cognito_sub holds 1–128 characters, never NUL (Cognito subs are uuids).
      if (
        typeof claims.sub !== 'string' ||
        claims.sub === '' ||
        claims.sub.length > 128 ||
        claims.sub.includes('\0')
      ) {
        throw new AuthError('token_missing_claim', 'The token has no valid subject.');
      }
      return withRawToken(toVerifiedToken(claims), token);
    },
    async hydrate() {
      try {
        await withTimeout(verifier.hydrate(), config.jwksTimeoutMs);
        return true;
      } catch (error) {
        // Not fatal: keys load lazily on the first request, which answers 503 while they cannot.
        logger.warn({ err: error }, 'JWKS hydration failed; will retry on demand');
        return false;
      }
    },
  };
}
