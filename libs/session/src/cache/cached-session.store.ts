import type { Redis } from 'ioredis';
import { sessionKey } from '../store/redis-schema.js';
import type {
  NewSession,
  RotationOutcome,
  RotationTarget,
  SessionDelta,
  SessionInfo,
  SessionStore,
  SessionWritten,
  StoreSettings,
  StoredSession,
  WriteRefusal,
} from '../store/session-store.interface.js';
import type { MaybePromise } from '../maybe-promise.js';
import { evictedBefore } from '../store/evicted-before-failure.js';
import { InvalidationLink } from './invalidation-link.js';
import { NearCache, type SessionCacheStats } from './near-cache.js';

/** The near-cache settings after defaults. */
export interface ResolvedSessionCache {
  readonly maxEntries: number;
  readonly ttlMs: number;
}

/**
 * The Redis store with an in-process near-cache of recently loaded sessions in front of it.
 *
 * - A cached read costs no Redis command. It goes to Redis only when the entry is missing, older
 *   than `ttlMs`, past its idle or absolute deadline, or when the sliding expiry is due (once per
 *   `touchAfter`, as without the cache), so a busy session never expires in Redis.
 * - Every change to a session key, by any server including this one, comes back from Redis as an
 *   invalidation (`CLIENT TRACKING`); while that link is down the cache is empty and bypassed.
 * - This process's own writes also drop the entry at once (before and after the call) and void
 *   reads still in flight for that key, so a request never reads around its own write.
 * - Entries are keyed by store id, not by Redis key: a read then builds no key string to look up
 *   (and hash) on a hit; the invalidations' keys are turned back into store ids instead.
 */
export class CachedSessionStore implements SessionStore {
  private readonly cache: NearCache;
  private readonly link: InvalidationLink;

  constructor(
    private readonly inner: SessionStore,
    redis: Redis,
    private readonly settings: StoreSettings,
    options: ResolvedSessionCache,
  ) {
    this.cache = new NearCache(options.maxEntries, options.ttlMs, (session, now) => this.servable(session, now));
    // `<prefix>{`: every session key and nothing else (the user index is `<prefix>user:{...}`).
    // Redis reports the full key, including an ioredis `keyPrefix` if the client has one.
    const trackedPrefix = (redis.options.keyPrefix ?? '') + sessionKey(settings.keyPrefix, '').slice(0, -1);
    this.link = new InvalidationLink(redis, trackedPrefix, {
      invalidated: (keys) => {
        if (keys === null) return this.cache.flush();
        for (const key of keys) {
          // `<trackedPrefix><storeId>}`; anything else (which tracking by prefix does not send) empties the cache to be safe.
          const storeId = key.startsWith(trackedPrefix) && key.endsWith('}') ? key.slice(trackedPrefix.length, -1) : null;
          if (storeId === null) return this.cache.flush();
          this.cache.invalidate(storeId, true);
        }
      },
      linkChanged: (up) => this.cache.setUp(up),
    });
  }

  find(storeId: string): MaybePromise<StoredSession | null> {
    const now = Date.now();
    const hit = this.cache.lookup(storeId, now);
    // As is, not wrapped in a promise: a cached read then creates none.
    if (hit) return hit;
    return this.load(storeId);
  }

  private async load(storeId: string): Promise<StoredSession | null> {
    if (!this.cache.isUp) return this.inner.find(storeId);
    const ticket = this.cache.begin(storeId);
    let session: StoredSession | null = null;
    try {
      session = await this.inner.find(storeId);
      return session;
    } finally {
      // Cached only if no invalidation of the key (or flush) came in while the read was out.
      this.cache.finish(ticket, session, Date.now());
    }
  }

  create(session: NewSession): Promise<SessionWritten> {
    return this.writing([session.storeId], () => this.inner.create(session), (result) => this.dropEvicted(session.userId, result));
  }

  commit(storeId: string, delta: SessionDelta): Promise<'ok' | WriteRefusal> {
    return this.writing([storeId], () => this.inner.commit(storeId, delta));
  }

  increment(storeId: string, key: string, by: number): Promise<number | WriteRefusal> {
    return this.writing([storeId], () => this.inner.increment(storeId, key, by));
  }

  async rotate(fromStoreId: string, to: RotationTarget, delta: SessionDelta): Promise<RotationOutcome> {
    try {
      return await this.writing([fromStoreId, to.storeId], () => this.inner.rotate(fromStoreId, to, delta), (outcome) => {
        if (typeof outcome !== 'string') this.dropEvicted(to.userId, outcome);
      });
    } catch (error) {
      // Failed after it evicted: those sessions are gone all the same.
      this.dropEvicted(to.userId, { evicted: evictedBefore(error) });
      throw error;
    }
  }

  destroy(storeId: string, options?: { durable?: boolean }): Promise<boolean> {
    return this.writing([storeId], () => this.inner.destroy(storeId, options));
  }

  listForUser(userId: string): Promise<SessionInfo[]> {
    return this.inner.listForUser(userId);
  }

  async destroyByHandle(userId: string, handle: string): Promise<boolean> {
    try {
      return await this.inner.destroyByHandle(userId, handle);
    } finally {
      this.cache.dropUser(userId, (s) => s.handle === handle);
    }
  }

  async destroyAllForUser(userId: string, exceptHandle?: string): Promise<number> {
    try {
      return await this.inner.destroyAllForUser(userId, exceptHandle);
    } finally {
      this.cache.dropUser(userId, (s) => s.handle !== exceptHandle);
    }
  }

  ping(): Promise<boolean> {
    return this.inner.ping();
  }

  /** Hit/miss counters and whether the invalidation link is up. */
  stats(): SessionCacheStats {
    return this.cache.stats();
  }

  /** Stops the invalidation link (the main connection is left as it was); the cache is emptied. */
  async close(): Promise<void> {
    await this.link.close();
    this.cache.flush();
  }

  /** The sessions a sign-in evicted (maxSessionsPerUser), known here by handle. */
  private dropEvicted(userId: string | null, { evicted }: { readonly evicted: readonly string[] }): void {
    if (userId !== null && evicted.length > 0) this.cache.dropUser(userId, (s) => evicted.includes(s.handle));
  }

  /**
   * A cached copy is served only while Redis would still hold it and no touch is due. A retired
   * one's grace end is the caller's to check (SessionLoader), as for a copy from Redis.
   */
  private servable(session: StoredSession, now: number): boolean {
    const { idleMs, touchAfterMs } = this.settings;
    return now < session.absoluteDeadline && now < session.lastAccessAt + idleMs && now - session.lastAccessAt < touchAfterMs;
  }

  /**
   * One of our own writes: the entries are dropped before it is sent (reads still out for those
   * keys are voided) and again once it settled, whatever the outcome. Redis's own invalidation of
   * the write follows on the link; these drops only make it immediate for this process.
   */
  private async writing<T>(storeIds: string[], write: () => Promise<T>, after?: (result: T) => void): Promise<T> {
    storeIds.forEach((id) => this.cache.invalidate(id));
    try {
      const result = await write();
      after?.(result);
      return result;
    } finally {
      storeIds.forEach((id) => this.cache.invalidate(id));
    }
  }
}
