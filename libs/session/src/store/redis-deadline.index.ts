import type { Cluster, Redis } from 'ioredis';
import { SessionStoreUnavailableError } from '../session.errors.js';
import { META, sessionKey } from './redis-schema.js';
import {
  DEADLINE_SCRIPTS,
  deadlineKey,
  deadlineMeta,
  deadlineMetaKey,
  deadlineShard,
  parseDeadlineMeta,
  type DeadlineScriptName,
} from './redis-deadlines.schema.js';
import type { ExpiredSession, ExpiryTrackingSettings, SessionExpirySource } from './session-expiry.interface.js';
import type { StoreSettings } from './session-store.interface.js';

/** What the index needs to know about a session when it is stored. */
export interface TrackedSession {
  readonly storeId: string;
  readonly handle: string;
  readonly userId: string | null;
  readonly absoluteDeadline: number;
}

/** How long a claimed entry is left to the process that claimed it before another may take it. */
const LEASE_MS = 30_000;
/** The deadline sets outlive the last absolute deadline they hold by this much (sweeper downtime). */
const KEEP_AFTER_DEADLINE_MS = 24 * 60 * 60 * 1000;
/** A session Redis has not expired yet although its deadline passed (clock skew): look again soon. */
const RECHECK_MS = 1000;
/** Default shards: a Cluster spreads the sets over slots; one set is enough for a single Redis. */
const CLUSTER_SHARDS = 16;

type Runner = (key1: string, key2: string, ...args: Array<string | number>) => Promise<unknown>;

/**
 * The deadline sets behind `session.expired` events (layout in redis-deadlines.schema.ts). The
 * store adds an entry when it creates a session and removes it before destroying one; the sweeper
 * claims due entries and reports those whose session key is gone. Reads never touch the sets.
 */
export class RedisDeadlineIndex implements SessionExpirySource {
  readonly shards: number;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly settings: StoreSettings & { readonly expiryEvents: ExpiryTrackingSettings },
  ) {
    for (const [name, script] of Object.entries(DEADLINE_SCRIPTS)) {
      redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
    this.shards = settings.expiryEvents.shards ?? (redis.isCluster ? CLUSTER_SHARDS : 1);
  }

  async add(session: TrackedSession, now = Date.now()): Promise<void> {
    const score = Math.min(now + this.settings.idleMs, session.absoluteDeadline);
    const meta = deadlineMeta(session.absoluteDeadline, session.handle, session.userId);
    const keepUntil = session.absoluteDeadline + KEEP_AFTER_DEADLINE_MS;
    await this.run('sessionDeadlineAdd', this.shardOf(session.storeId), session.storeId, score, meta, keepUntil, now);
  }

  async remove(storeId: string): Promise<void> {
    await this.run('sessionDeadlineRemove', this.shardOf(storeId), storeId);
  }

  /** Reports up to `limit` expired sessions per shard, each once across every process. */
  async sweepExpired(limit: number): Promise<ExpiredSession[]> {
    const expired: ExpiredSession[] = [];
    for (let shard = 0; shard < this.shards; shard++) expired.push(...(await this.sweepShard(shard, limit)));
    return expired;
  }

  private async sweepShard(shard: number, limit: number): Promise<ExpiredSession[]> {
    const now = Date.now();
    const reply = await this.run('sessionDeadlineClaim', shard, now, now + LEASE_MS, limit);
    if (!Array.isArray(reply) || reply.length % 3 !== 0) {
      throw new SessionStoreUnavailableError(`unexpected reply from sessionDeadlineClaim: ${JSON.stringify(reply)}`);
    }
    const checks: Array<Promise<ExpiredSession | null>> = [];
    for (let i = 0; i < reply.length; i += 3) checks.push(this.check(shard, String(reply[i]), Number(reply[i + 1]), now));
    return (await Promise.all(checks)).filter((e): e is ExpiredSession => e !== null);
  }

  /** A claimed entry: a live session gets its current deadline back, a gone one is settled and reported. */
  private async check(shard: number, storeId: string, score: number, now: number): Promise<ExpiredSession | null> {
    const key = sessionKey(this.settings.keyPrefix, storeId);
    const [last, deadline] = await this.call(() => this.redis.hmget(key, META.lastAccess, META.deadline));
    if (last !== null && deadline !== null) {
      const next = Math.min(Number(last) + this.settings.idleMs, Number(deadline));
      const at = Number.isFinite(next) && next > now ? next : now + RECHECK_MS;
      await this.call(() => this.redis.zadd(deadlineKey(this.settings.keyPrefix, shard), 'XX', at, storeId));
      return null;
    }
    const meta = await this.run('sessionDeadlineSettle', shard, storeId);
    const parsed = typeof meta === 'string' ? parseDeadlineMeta(meta) : null;
    if (!parsed) return null;
    // The score is the last deadline known for the session: at the absolute one, it did not idle out.
    return { handle: parsed.handle, userId: parsed.userId, reason: score >= parsed.absoluteDeadline ? 'absolute' : 'idle' };
  }

  private shardOf(storeId: string): number {
    return deadlineShard(storeId, this.shards);
  }

  private run(name: DeadlineScriptName, shard: number, ...args: Array<string | number>): Promise<unknown> {
    const runner = (this.redis as unknown as Record<DeadlineScriptName, Runner>)[name];
    const prefix = this.settings.keyPrefix;
    return this.call(() => runner.call(this.redis, deadlineKey(prefix, shard), deadlineMetaKey(prefix, shard), ...args));
  }

  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new SessionStoreUnavailableError(error);
    }
  }
}
