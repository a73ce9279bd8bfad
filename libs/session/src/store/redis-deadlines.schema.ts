/**
 * Keys and scripts of expiry tracking (`expiryEvents`), kept apart from redis-schema.ts because
 * they only exist when the option is on. Layout, per shard n (0 <= n < shards):
 *
 *   <prefix>deadlines:{d<n>}       ZSET  member storeId, score = when to look at the session next (ms)
 *   <prefix>deadlines:{d<n>}:meta  HASH  storeId -> "<absoluteDeadline>.<handle>.<userId>"
 *
 * The two keys of a shard share the hash tag `{d<n>}`, so on Cluster they live in one slot and a
 * script may touch both: the only multi-key scripts of the library. A session's own key is in
 * another slot and is never touched by these scripts. Shards spread the sets (memory and write
 * load) over several slots and nodes; one shard is enough for a single Redis.
 *
 * The score starts as the session's earliest possible end (min(created + idle, absolute deadline)).
 * Reads slide a session's idle deadline without touching its entry (the read path stays one round
 * trip), so the sweeper finds live sessions among the due entries and moves them to their current
 * deadline. Only an entry whose session key is gone is reported as expired.
 */

export const deadlineKey = (prefix: string, shard: number): string => `${prefix}deadlines:{d${shard}}`;
export const deadlineMetaKey = (prefix: string, shard: number): string => `${deadlineKey(prefix, shard)}:meta`;

/** The shard of a store id: FNV-1a 32-bit, so every process maps an id to the same set. */
export function deadlineShard(storeId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < storeId.length; i++) {
    hash ^= storeId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

export const deadlineMeta = (absoluteDeadline: number, handle: string, userId: string | null): string =>
  `${absoluteDeadline}.${handle}.${userId ?? ''}`;

export function parseDeadlineMeta(meta: string): { absoluteDeadline: number; handle: string; userId: string | null } | null {
  const first = meta.indexOf('.');
  const second = first < 0 ? -1 : meta.indexOf('.', first + 1);
  if (second < 0) return null;
  const absoluteDeadline = Number(meta.slice(0, first));
  const handle = meta.slice(first + 1, second);
  const userId = meta.slice(second + 1);
  return Number.isFinite(absoluteDeadline) && handle ? { absoluteDeadline, handle, userId: userId || null } : null;
}

/**
 * Add (or move) an entry and keep both keys alive at least until `keepUntil` (the session's absolute
 * deadline plus a grace period), never shortening their TTL: the sets disappear on their own once
 * no session they list can still be alive. ARGV: storeId, score, meta, keepUntil, now.
 */
const ADD = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local keep, now = tonumber(ARGV[4]), tonumber(ARGV[5])
for _, key in ipairs(KEYS) do
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or now + ttl < keep then redis.call('PEXPIREAT', key, keep) end
end
return 1
`;

/** Remove an entry (the session is being destroyed). ARGV: storeId. Returns 1 if it was there. */
const REMOVE = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return removed
`;

/**
 * Claim up to `limit` due entries: their score moves to `leaseUntil`, so another process sweeping
 * at the same time skips them, and one that crashed mid-sweep leaves them to be claimed again later.
 * ARGV: now, leaseUntil, limit. Returns storeId, previous score, meta for each (flat).
 */
const CLAIM = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], due[i])
  out[#out + 1] = due[i]
  out[#out + 1] = due[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], due[i]) or ''
end
return out
`;

/**
 * Take out the entry of a session found gone. Only the caller that removes it reports the expiry,
 * and a destroy (which removes the entry before deleting the session) never leaves one to report.
 * ARGV: storeId. Returns the meta, or nil when the entry was already gone.
 */
const SETTLE = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return false end
local meta = redis.call('HGET', KEYS[2], ARGV[1]) or ''
redis.call('HDEL', KEYS[2], ARGV[1])
return meta
`;

/** Two keys each, both with the shard's hash tag (one Cluster slot). */
export const DEADLINE_SCRIPTS = {
  sessionDeadlineAdd: { numberOfKeys: 2, lua: ADD },
  sessionDeadlineRemove: { numberOfKeys: 2, lua: REMOVE },
  sessionDeadlineClaim: { numberOfKeys: 2, lua: CLAIM },
  sessionDeadlineSettle: { numberOfKeys: 2, lua: SETTLE },
} as const;

export type DeadlineScriptName = keyof typeof DEADLINE_SCRIPTS;
