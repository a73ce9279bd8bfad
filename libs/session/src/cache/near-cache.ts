import type { StoredSession } from '../store/session-store.interface.js';

/** Counters of one near-cache, for tests, health pages and the benchmark. */
export interface SessionCacheStats {
  /** Whether the invalidation link is up (cache in use) or not (every read goes to Redis). */
  readonly state: 'up' | 'down';
  readonly entries: number;
  readonly hits: number;
  readonly misses: number;
  /** Reads that went to Redis because the invalidation link was down. */
  readonly bypassed: number;
  /** Keys dropped because Redis reported a change by another connection. */
  readonly invalidations: number;
  /** Times the whole cache was emptied (link lost, FLUSHDB, shutdown). */
  readonly flushes: number;
}

/** Taken before a Redis call whose reply may be cached; the reply is cached only if still valid. */
export interface CacheTicket {
  readonly key: string;
  readonly generation: number;
  readonly epoch: number;
  /** How many per-user drops had happened when the read began (see dropUser). */
  readonly userDrops: number;
}

interface Entry {
  readonly session: StoredSession;
  readonly cachedAt: number;
  /** Insertion number: where the entry sits in the (insertion-ordered) Map. */
  seq: number;
}

/**
 * How many users' drops are remembered while reads are out. A server that always has a read out
 * never forgets them, so past this many a drop voids every open ticket instead (as a flush does).
 */
const MAX_USER_DROP_MARKS = 1024;

interface Pending {
  generation: number;
  refs: number;
}

/**
 * An (approximate) LRU of loaded sessions, keyed by their Redis key, with the bookkeeping that keeps it coherent:
 *
 * - Invalidations can arrive before the reply of a read that started earlier (they travel on
 *   another connection), so every read takes a ticket and its reply is cached only if no
 *   invalidation of that key (a per-key generation), no flush (a global epoch) and no drop of its
 *   user's sessions came in between.
 * - Entries are also indexed by user, so dropping one user's sessions (a revoke, an eviction on
 *   sign-in) costs that user's entries, not a scan of the cache, and voids only that user's reads.
 * - While the link is down nothing is served or cached.
 */
export class NearCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Pending>();
  /** userId -> the keys of that user's cached sessions. */
  private readonly byUser = new Map<string, Set<string>>();
  /** userId -> the number of the last drop of that user's sessions, kept while any read is out. */
  private readonly userDropMarks = new Map<string, number>();
  private userDrops = 0;
  private epoch = 0;
  private seq = 0;
  private up = false;
  private counters = { hits: 0, misses: 0, bypassed: 0, invalidations: 0, flushes: 0 };

  /**
   * @param servable whether an entry may still be served at `now` (deadlines, a touch due): one
   *   that may not is a miss, since the read goes to Redis. Given once, so a lookup allocates nothing.
   */
  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly servable: (session: StoredSession, now: number) => boolean = () => true,
  ) {}

  get isUp(): boolean {
    return this.up;
  }

  /** The cached session if it may be served now, else undefined (counted as a miss or a bypass). */
  lookup(key: string, now: number): StoredSession | undefined {
    if (!this.up) {
      this.counters.bypassed++;
      return undefined;
    }
    const entry = this.entries.get(key);
    if (entry === undefined || now - entry.cachedAt >= this.ttlMs || !this.servable(entry.session, now)) {
      // The read that follows caches the copy from Redis in its place.
      if (entry !== undefined) this.remove(key, entry);
      this.counters.misses++;
      return undefined;
    }
    // Map order is insertion order: re-inserting marks the entry most recently used. Entries in
    // the newer half stay put (approximate LRU), so a hot entry costs no Map churn per hit.
    if (this.seq - entry.seq > this.maxEntries / 2) {
      this.entries.delete(key);
      entry.seq = ++this.seq;
      this.entries.set(key, entry);
    }
    this.counters.hits++;
    return entry.session;
  }

  begin(key: string): CacheTicket {
    let pending = this.pending.get(key);
    if (pending === undefined) {
      pending = { generation: 0, refs: 0 };
      this.pending.set(key, pending);
    }
    pending.refs++;
    return { key, generation: pending.generation, epoch: this.epoch, userDrops: this.userDrops };
  }

  /**
   * Ends a ticket. With a session, caches it when nothing invalidated the key since `begin`;
   * returns whether the ticket was still valid. With `null`, only drops the entry.
   */
  finish(ticket: CacheTicket, session: StoredSession | null, now: number): boolean {
    const pending = this.pending.get(ticket.key);
    const userDropped = session?.userId != null && (this.userDropMarks.get(session.userId) ?? 0) > ticket.userDrops;
    const valid = this.up && ticket.epoch === this.epoch && pending?.generation === ticket.generation && !userDropped;
    if (pending && --pending.refs === 0) this.pending.delete(ticket.key);
    if (this.pending.size === 0) this.userDropMarks.clear();
    this.remove(ticket.key);
    if (!valid || session === null) return valid;
    this.entries.set(ticket.key, { session, cachedAt: now, seq: ++this.seq });
    if (session.userId !== null) {
      let keys = this.byUser.get(session.userId);
      if (keys === undefined) this.byUser.set(session.userId, (keys = new Set()));
      keys.add(ticket.key);
    }
    if (this.entries.size > this.maxEntries) this.remove(this.entries.keys().next().value as string);
    return true;
  }

  /** Drops a key and voids every ticket taken for it so far (a change by anyone, us included). */
  invalidate(key: string, external = false): void {
    this.remove(key);
    const pending = this.pending.get(key);
    if (pending) pending.generation++;
    if (external) this.counters.invalidations++;
  }

  /**
   * Drops the user's cached sessions that `which` selects (all by default) and voids the user's
   * reads still out: revocations and evictions, which know the user and the handles, not the keys.
   */
  dropUser(userId: string, which: (session: StoredSession) => boolean = () => true): void {
    if (this.pending.size > 0) {
      if (this.userDropMarks.size < MAX_USER_DROP_MARKS) this.userDropMarks.set(userId, ++this.userDrops);
      else {
        this.epoch++;
        this.userDropMarks.clear();
      }
    }
    for (const key of this.byUser.get(userId) ?? []) {
      const entry = this.entries.get(key);
      if (entry !== undefined && which(entry.session)) this.remove(key, entry);
    }
  }

  /** Empties the cache and voids every open ticket. */
  flush(): void {
    this.epoch++;
    this.entries.clear();
    this.byUser.clear();
    this.counters.flushes++;
  }

  setUp(up: boolean): void {
    if (this.up === up) return;
    this.flush();
    this.up = up;
  }

  private remove(key: string, entry = this.entries.get(key)): void {
    if (entry === undefined) return;
    this.entries.delete(key);
    const userId = entry.session.userId;
    if (userId === null) return;
    const keys = this.byUser.get(userId);
    if (keys?.delete(key) && keys.size === 0) this.byUser.delete(userId);
  }

  stats(): SessionCacheStats {
    return { state: this.up ? 'up' : 'down', entries: this.entries.size, ...this.counters };
  }
}
