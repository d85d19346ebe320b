import type { Redis } from 'ioredis';

/** What a session cache read returns: the cached JSON (if any) and the key's current version. */
export interface CachedEntry {
  value: string | null;
  version: string;
}

/**
 * Where sessions are cached. `invalidate` bumps a version and deletes the entry, so a loader that
 * read PostgreSQL before the change cannot resurrect stale data after it.
 */
export interface SessionStore {
  read(key: string): Promise<CachedEntry>;
  write(key: string, value: string, ttlSeconds: number): Promise<void>;
  invalidate(key: string): Promise<void>;
  close?(): Promise<void>;
}

// Outlives any entry (max session TTL 1 h), so a version never resets while an entry it guards lives.
const VERSION_TTL_SECONDS = 86_400;
const versionKey = (key: string) => `${key}:ver`;

export class RedisSessionStore implements SessionStore {
  constructor(private readonly redis: Redis) {}

  async read(key: string): Promise<CachedEntry> {
    const [value, version] = await this.redis.mget(key, versionKey(key));
    return { value: value ?? null, version: version ?? '0' };
  }

  async write(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(key, value, 'EX', ttlSeconds);
  }

  async invalidate(key: string): Promise<void> {
    await this.redis
      .multi()
      .incr(versionKey(key))
      .expire(versionKey(key), VERSION_TTL_SECONDS)
      .del(key)
      .exec();
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** Per-process cache for development without Redis; invalidations only reach this process. */
export class MemorySessionStore implements SessionStore {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private readonly versions = new Map<string, number>();

  async read(key: string): Promise<CachedEntry> {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) this.entries.delete(key);
    const live = this.entries.get(key);
    return { value: live?.value ?? null, version: String(this.versions.get(key) ?? 0) };
  }

  async write(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async invalidate(key: string): Promise<void> {
    this.versions.set(key, (this.versions.get(key) ?? 0) + 1);
    this.entries.delete(key);
  }
}
