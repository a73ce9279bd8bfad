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
}

interface Entry {
  readonly session: StoredSession;
  readonly cachedAt: number;
  /** Insertion number: where the entry sits in the (insertion-ordered) Map. */
  seq: number;
}

interface Pending {
  generation: number;
  refs: number;
}

/**
 * An (approximate) LRU of loaded sessions, keyed by their Redis key, with the bookkeeping that keeps it coherent:
 *
 * - Invalidations can arrive before the reply of a read that started earlier (they travel on
 *   another connection), so every read takes a ticket and its reply is cached only if no
 *   invalidation of that key (a per-key generation) and no flush (a global epoch) came in between.
 * - While the link is down nothing is served or cached.
 */
export class NearCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Pending>();
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
      if (entry !== undefined) this.entries.delete(key);
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
    return { key, generation: pending.generation, epoch: this.epoch };
  }

  /**
   * Ends a ticket. With a session, caches it when nothing invalidated the key since `begin`;
   * returns whether the ticket was still valid. With `null`, only drops the entry.
   */
  finish(ticket: CacheTicket, session: StoredSession | null, now: number): boolean {
    const pending = this.pending.get(ticket.key);
    const valid = this.up && ticket.epoch === this.epoch && pending?.generation === ticket.generation;
    if (pending && --pending.refs === 0) this.pending.delete(ticket.key);
    if (!valid || session === null) {
      this.entries.delete(ticket.key);
      return valid;
    }
    this.entries.delete(ticket.key);
    this.entries.set(ticket.key, { session, cachedAt: now, seq: ++this.seq });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return true;
  }

  /** Drops a key and voids every ticket taken for it so far (a change by anyone, us included). */
  invalidate(key: string, external = false): void {
    this.entries.delete(key);
    const pending = this.pending.get(key);
    if (pending) pending.generation++;
    if (external) this.counters.invalidations++;
  }

  /** Drops the entries a predicate selects and voids every open ticket (rare bulk operations). */
  dropWhere(predicate: (session: StoredSession) => boolean): void {
    this.epoch++;
    for (const [key, entry] of this.entries) if (predicate(entry.session)) this.entries.delete(key);
  }

  /** Empties the cache and voids every open ticket. */
  flush(): void {
    this.epoch++;
    this.entries.clear();
    this.counters.flushes++;
  }

  setUp(up: boolean): void {
    if (this.up === up) return;
    this.flush();
    this.up = up;
  }

  stats(): SessionCacheStats {
    return { state: this.up ? 'up' : 'down', entries: this.entries.size, ...this.counters };
  }
}
