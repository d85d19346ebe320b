export { authorizationValues, readBearerToken } from './bearer.js';
export {
  type AuthConfig,
  AuthConfigError,
  AuthEnv,
  type AuthMode,
  DEV_CLIENT_ID,
  DEV_USER_POOL_ID,
  loadAuthConfig,
  type TokenUse,
} from './config.js';
export * from './contracts.js';
export type { Queryable } from './database.js';
export { DevIssuer, DevUserInfoError, devSubForEmail, type MintOptions } from './dev/dev-issuer.js';
export { mapVerificationError } from './error-mapping.js';
export { AuthError, authErrorStatus, isAuthError } from './errors.js';
export {
  type AuthServices,
  type CreateAuthOptions,
  createAuthServices,
  createSessionStore,
  createTokenVerifierFromConfig,
  createUserInfoClient,
} from './factories.js';
export { StaticJwksFetcher, UrlJwksFetcher } from './jwks-fetchers.js';
export { type AuthLogger, silentLogger } from './logger.js';
export { loadMemberships } from './memberships.js';
export { ORGANISATION_HEADER, readOrganisationId } from './organisation-header.js';
export {
  AUTHENTICATE_PLUGIN,
  type AuthenticatePluginOptions,
  authenticatePlugin,
} from './plugins/authenticate.js';
export { DEV_JWKS_PLUGIN, type DevJwksPluginOptions, devJwksPlugin } from './plugins/jwks-route.js';
export {
  ORGANISATION_SCOPE_PLUGIN,
  type OrganisationScopePluginOptions,
  organisationScopePlugin,
  resolveOrganisation,
} from './plugins/organisation-scope.js';
export { type RequestAuth, requireAuth, sendAuthProblem } from './plugins/request-auth.js';
export { roleRefusal } from './plugins/require-role.js';
export {
  SESSION_PLUGIN,
  type SessionMethods,
  type SessionPluginOptions,
  sessionPlugin,
} from './plugins/session.js';
export { createSessionRedis } from './redis.js';
export {
  DEFAULT_SESSION_KEY_PREFIX,
  SessionService,
  type SessionServiceOptions,
  sessionCacheKey,
} from './session-service.js';
export {
  type CachedEntry,
  MemorySessionStore,
  RedisSessionStore,
  type SessionStore,
} from './session-store.js';
export {
  HttpUserInfoEndpoint,
  type UserInfo,
  UserInfoClient,
  type UserInfoEndpoint,
  type UserInfoOutcome,
} from './user-info.js';
export { type SyncedUser, type UserSyncOptions, UserSyncService } from './user-sync.js';
export { appendVary } from './vary.js';
export type { VerifiedToken } from './verified-token.js';
export { createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from './verifier.js';
