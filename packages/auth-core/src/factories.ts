import { type AuthConfig, loadAuthConfig } from './config.js';
import type { Queryable } from './database.js';
import { DevIssuer } from './dev/dev-issuer.js';
import { StaticJwksFetcher } from './jwks-fetchers.js';
import { type AuthLogger, silentLogger } from './logger.js';
import { createSessionRedis } from './redis.js';
import { SessionService } from './session-service.js';
import { MemorySessionStore, RedisSessionStore, type SessionStore } from './session-store.js';
import { HttpUserInfoEndpoint, UserInfoClient } from './user-info.js';
import { UserSyncService } from './user-sync.js';
import { createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from './verifier.js';

type Env = Record<string, string | undefined>;

/**
 * The verifier for a config: Cognito over HTTPS by default, AUTH_JWKS_URL when set, and in dev mode
 * (without AUTH_JWKS_URL) the local dev issuer's keys straight from memory.
 */
export function createTokenVerifierFromConfig(
  config: AuthConfig,
  options: TokenVerifierOptions & { env?: Env } = {},
): TokenVerifier {
  if (config.mode === 'dev' && !config.jwksUrl && !options.fetcher && !options.jwksCache) {
    const issuer = DevIssuer.fromConfig(config, options.env);
    return createTokenVerifier(config, { ...options, fetcher: new StaticJwksFetcher(() => issuer.jwks()) });
  }
  return createTokenVerifier(config, options);
}

/**
 * Where access tokens' emails come from: COGNITO_USERINFO_URL when set, else in dev mode the dev
 * issuer's userInfo in memory, else nowhere (access tokens then never set an email).
 */
export function createUserInfoClient(
  config: AuthConfig,
  devIssuer: DevIssuer | undefined,
  logger: AuthLogger = silentLogger,
): UserInfoClient | undefined {
  if (config.userInfoUrl)
    return new UserInfoClient(new HttpUserInfoEndpoint(config.userInfoUrl, config.jwksTimeoutMs));
  if (devIssuer) return new UserInfoClient({ fetch: async (token) => devIssuer.userInfo(token) });
  if (config.tokenUse !== 'id')
    logger.warn(
      {},
      'COGNITO_USERINFO_URL is not set: access tokens carry no email, so their users cannot accept invitations',
    );
  return undefined;
}

/** Redis when `config.redisUrl` is set (fail-fast ioredis), else the in-process store. */
export function createSessionStore(
  config: Pick<AuthConfig, 'redisUrl'>,
  logger: AuthLogger = silentLogger,
): SessionStore {
  if (!config.redisUrl) {
    logger.warn({}, 'REDIS_URL is not set: sessions are cached in process (development only)');
    return new MemorySessionStore();
  }
  return new RedisSessionStore(createSessionRedis(config.redisUrl, { logger }));
}

export interface AuthServices {
  config: AuthConfig;
  verifier: TokenVerifier;
  userSync: UserSyncService;
  sessions: SessionService;
  store: SessionStore;
  /** Present in AUTH_MODE=dev: serve its JWKS with `devJwksPlugin`. */
  devIssuer: DevIssuer | undefined;
  close(): Promise<void>;
}

export interface CreateAuthOptions {
  /** The app's pool (role prospectflow_app). */
  db: Queryable;
  env?: Env;
  /** Overrides applied on top of the env. */
  config?: Partial<AuthConfig>;
  logger?: AuthLogger;
  verifierOptions?: TokenVerifierOptions;
  store?: SessionStore;
  keyPrefix?: string;
  /** See SessionServiceOptions.onUserSynced. */
  onUserSynced?: (userId: string) => Promise<void>;
}

/** Everything the Fastify plugins need, from the environment (see README for every variable). */
export function createAuthServices(options: CreateAuthOptions): AuthServices {
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger;
  const config = loadAuthConfig(env, options.config);
  const devIssuer = config.mode === 'dev' ? DevIssuer.fromConfig(config, env) : undefined;
  const verifier = createTokenVerifierFromConfig(config, { logger, env, ...options.verifierOptions });
  const store = options.store ?? createSessionStore(config, logger);
  const userSync = new UserSyncService(options.db, {
    userInfo: createUserInfoClient(config, devIssuer, logger),
    logger,
  });
  const sessions = new SessionService({
    db: options.db,
    store,
    userSync,
    ttlSeconds: config.sessionTtlSeconds,
    logger,
    ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
    ...(options.onUserSynced ? { onUserSynced: options.onUserSynced } : {}),
  });
  return {
    config,
    verifier,
    userSync,
    sessions,
    store,
    devIssuer,
    async close() {
      await store.close?.();
    },
  };
}
