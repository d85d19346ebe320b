import type { AuthSession } from './contracts.js';
import type { Queryable } from './database.js';
import { AuthError } from './errors.js';
import { type AuthLogger, silentLogger } from './logger.js';
import { loadMemberships } from './memberships.js';
import type { SessionStore } from './session-store.js';
import type { UserSyncService } from './user-sync.js';
import type { VerifiedToken } from './verified-token.js';

export interface SessionServiceOptions {
  db: Queryable;
  store: SessionStore;
  userSync: UserSyncService;
  /** Upper bound of a cached entry's life; the token's remaining life bounds it too. */
  ttlSeconds?: number;
  /** How long "member of nothing" is cached (a fresh invite should show up quickly). */
  emptyTtlSeconds?: number;
  /** Key namespace; tests use a unique one per file when Redis is shared. */
  keyPrefix?: string;
  logger?: AuthLogger;
  /** Injectable for deterministic tests; returns 0..1. */
  random?: () => number;
  /**
   * Runs on every load from PostgreSQL, after the user row is synced and before the memberships
   * are read (e.g. the API accepts invitations addressed to the user's verified email there). A
   * failure fails the load (503 `session_unavailable`), like a failed read.
   */
  onUserSynced?: (userId: string) => Promise<void>;
}

interface CachedSession extends AuthSession {
  /** Store version this entry was built under (see SessionStore.invalidate). */
  v: string;
}

const SCHEMA_VERSION = 'v1';

/** The key prefix of cached sessions unless a SessionService is given another. */
export const DEFAULT_SESSION_KEY_PREFIX = 'pf:auth';

/**
 * Where a user's session is cached: per key prefix, pool and `sub`. `{pool}` is a Redis Cluster
 * hash tag, so a user's entry and its version share a slot. Tools that drop sessions from outside
 * the API (an organisation suspended by an operator) use it with the store's `invalidate`.
 */
export function sessionCacheKey(keyPrefix: string, userPoolId: string, sub: string): string {
  return `${keyPrefix}:${SCHEMA_VERSION}:ctx:{${userPoolId}}:${sub}`;
}

/**
 * The caller's user id and memberships, cached per Cognito pool and `sub`. A miss (or a Redis
 * outage) reads PostgreSQL; concurrent misses in this process share one load. Redis trouble
 * degrades to PostgreSQL and is logged; only when PostgreSQL fails too does it answer 503.
 */
export class SessionService {
  private readonly inFlight = new Map<string, Promise<AuthSession>>();
  private readonly ttlSeconds: number;
  private readonly emptyTtlSeconds: number;
  private readonly keyPrefix: string;
  private readonly logger: AuthLogger;
  private readonly random: () => number;

  constructor(private readonly options: SessionServiceOptions) {
    this.ttlSeconds = options.ttlSeconds ?? 600;
    this.emptyTtlSeconds = Math.min(options.emptyTtlSeconds ?? 30, this.ttlSeconds);
    this.keyPrefix = options.keyPrefix ?? DEFAULT_SESSION_KEY_PREFIX;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
  }

  key(userPoolId: string, sub: string): string {
    return sessionCacheKey(this.keyPrefix, userPoolId, sub);
  }

  async getSession(token: VerifiedToken, logger: AuthLogger = this.logger): Promise<AuthSession> {
    const key = this.key(token.userPoolId, token.sub);
    const pending = this.inFlight.get(key);
    if (pending) return await pending;
    const load: Promise<AuthSession> = this.readThrough(key, token, logger).finally(() => {
      if (this.inFlight.get(key) === load) this.inFlight.delete(key);
    });
    this.inFlight.set(key, load);
    return await load;
  }

  /** Drops the cached session of a user; call after a membership change has committed. */
  async invalidate(userId: string): Promise<void> {
    const { rows } = await this.options.db.query<{ cognito_sub: string; cognito_pool_id: string | null }>(
      'SELECT cognito_sub, cognito_pool_id FROM app.user_account($1::uuid)',
      [userId],
    );
    for (const row of rows) {
      if (row.cognito_pool_id) await this.invalidateIdentity(row.cognito_pool_id, row.cognito_sub);
    }
  }

  async invalidateIdentity(userPoolId: string, sub: string): Promise<void> {
    const key = this.key(userPoolId, sub);
    // A load already under way may have read the memberships before the change: later requests
    // must start their own, not share its answer.
    this.inFlight.delete(key);
    await this.options.store.invalidate(key);
  }

  private async readThrough(key: string, token: VerifiedToken, logger: AuthLogger): Promise<AuthSession> {
    let version: string | undefined;
    let storeUp = true;
    try {
      const entry = await this.options.store.read(key);
      version = entry.version;
      const cached = entry.value === null ? undefined : this.parse(entry.value);
      if (cached && cached.v === entry.version && cached.sub === token.sub) return strip(cached);
    } catch (error) {
      storeUp = false;
      logger.warn({ err: error, degraded: true }, 'session cache unavailable; reading PostgreSQL');
    }

    const session = await this.loadFromDatabase(token, logger);
    const ttl = this.ttlFor(token, session);
    if (storeUp && version !== undefined && ttl > 0) {
      const record: CachedSession = { ...session, v: version };
      await this.options.store.write(key, JSON.stringify(record), ttl).catch((error: unknown) => {
        logger.warn({ err: error, degraded: true }, 'session cache write failed');
      });
    }
    return session;
  }

  private async loadFromDatabase(token: VerifiedToken, logger: AuthLogger): Promise<AuthSession> {
    try {
      const user = await this.options.userSync.sync(token, logger);
      await this.options.onUserSynced?.(user.id);
      const memberships = await loadMemberships(this.options.db, user.id);
      return {
        userId: user.id,
        sub: token.sub,
        userPoolId: token.userPoolId,
        memberships,
        loadedAt: Date.now(),
      };
    } catch (error) {
      if (error instanceof AuthError) throw error;
      logger.error({ err: error }, 'session load from PostgreSQL failed');
      throw new AuthError('session_unavailable', 'Your session cannot be loaded right now; retry shortly.', {
        cause: error,
      });
    }
  }

  /** min(ttl, remaining token life) minus up to 10 % jitter, so entries do not expire in herds. */
  private ttlFor(token: VerifiedToken, session: AuthSession): number {
    const cap = session.memberships.length === 0 ? this.emptyTtlSeconds : this.ttlSeconds;
    const remaining = token.expiresAt - Math.floor(Date.now() / 1000);
    const base = Math.min(cap, remaining);
    return Math.floor(base * (1 - 0.1 * this.random()));
  }

  private parse(value: string): CachedSession | undefined {
    try {
      const parsed = JSON.parse(value) as CachedSession;
      return typeof parsed.userId === 'string' && Array.isArray(parsed.memberships) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
}

function strip({ v: _version, ...session }: CachedSession): AuthSession {
  return session;
}
