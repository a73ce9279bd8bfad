/**
 * Every Redis key name, hash field name and Lua script of the library lives here, so the layout is
 * reviewable in one place (and the README's key table can be checked against it).
 *
 * Layout:
 *   <prefix>{<storeId>}        HASH  one session: META fields + one `d:<key>` field per data key;
 *                                    after a rotation, for `rotationGraceMs`, the retired one (`m:r`);
 *                                    once deleted, for TOMBSTONE_TTL_MS, its tombstone (`m:g` alone)
 *   <prefix>user:{<userId>}    ZSET  the user's sessions, member `<handle>.<storeId>`, score = absolute deadline (ms)
 *   <prefix>ended              Pub/Sub channel (not a key): "a session ended", so every instance closes its sockets
 *
 * The braces are Redis Cluster hash tags: every script below touches exactly one key, so it is valid
 * on Cluster. A session and its user index live in different slots and are never touched by one script.
 */

/** Bumped when the stored shape changes incompatibly; older sessions are then treated as absent. */
export const FORMAT_VERSION = '1';

export const sessionKey = (prefix: string, storeId: string): string => `${prefix}{${storeId}}`;
export const userIndexKey = (prefix: string, userId: string): string => `${prefix}user:{${userId}}`;
/** STRING: when "sign out everywhere" last ran for the user (epoch ms), so logins under way then fail. */
export const userRevokedKey = (prefix: string, userId: string): string => `${prefix}revoked:{${userId}}`;
/** How long that mark is kept: far longer than any request that could still be saving a login. */
export const REVOKED_MARK_TTL_MS = 10 * 60_000;
/** Pub/Sub channel announcing ended sessions (destroyed, rotated, revoked) to every app instance. */
export const endedChannel = (prefix: string): string => `${prefix}ended`;

/** Metadata fields of the session hash. Data fields use DATA_PREFIX, so the two can never clash. */
export const META = {
  version: 'm:v',
  created: 'm:c',
  lastAccess: 'm:l',
  deadline: 'm:d',
  userId: 'm:u',
  handle: 'm:h',
  userAgent: 'm:ua',
  size: 'm:s',
  strategy: 'm:k',
  /** Recent `increment` op ids with their results (`;<op>=<value>` x 16), for exactly-once re-sends. */
  ops: 'm:o',
  /**
   * Set when a rotation replaced the session (epoch ms, the end of `rotationGraceMs`): until then
   * requests still in flight with the old credential read it, and nothing may change it.
   */
  retiredUntil: 'm:r',
  /** On the session a rotation made: the store id of the retired one, which ends with it. */
  previous: 'm:p',
  /**
   * The only field of a deleted session's tombstone: JSON [op id, userId, handle, previous] of the
   * delete that left it, so a re-send of that very delete (see DESTROY) gets its first answer.
   */
  gone: 'm:g',
} as const;

/**
 * How long a deleted session's tombstone stays: far longer than ioredis takes to re-send a command
 * left unanswered by a dropped connection (a reconnect, then the re-send), and short enough that
 * tombstones cost little: 288 bytes each (`MEMORY USAGE`), for a minute, so 1,000 logouts a second
 * keep about 17 MB of them.
 */
export const TOMBSTONE_TTL_MS = 60_000;

/** How many recent increment op ids a session remembers (covers every re-send of one connection). */
export const REMEMBERED_OPS = 16;

export const DATA_PREFIX = 'd:';
export const dataField = (key: string): string => `${DATA_PREFIX}${key}`;

/** A user-index member names the session without being a credential for the hashed strategy. */
export const indexMember = (handle: string, storeId: string): string => `${handle}.${storeId}`;
export function parseIndexMember(member: string): { handle: string; storeId: string } | null {
  const dot = member.indexOf('.');
  return dot > 0 ? { handle: member.slice(0, dot), storeId: member.slice(dot + 1) } : null;
}

/** The op id of the delete that left a tombstone (its `m:g` field); null for anything else. */
export function tombstoneOp(gone: string | null): string | null {
  if (gone === null) return null;
  try {
    const parsed: unknown = JSON.parse(gone);
    return Array.isArray(parsed) && typeof parsed[0] === 'string' ? parsed[0] : null;
  } catch {
    return null;
  }
}

/** Bytes a data field counts towards maxDataBytes: its key plus its JSON value (UTF-8). */
export const fieldCost = (field: string, value: string): number =>
  Buffer.byteLength(field) + Buffer.byteLength(value);

// The tombstone, for the two scripts that delete a session (DESTROY, and RETIRE without a grace)
// and no other: a script's local functions are defined anew each time it runs, the read's included.
const TOMBSTONE = `
-- Deletes a session and leaves its tombstone (false when there was nothing to delete): a hash with
-- no session field, so every script reads it as absent, that lets a re-sent delete tell itself
-- (op) from another's.
local function bury(key, op, user, handle, previous)
  if redis.call('DEL', key) == 0 then return false end
  redis.call('HSET', key, '${META.gone}', cjson.encode({op, user or '', handle or '', previous or ''}))
  redis.call('PEXPIRE', key, ${TOMBSTONE_TTL_MS})
  return true
end
-- A tombstone's {userId, handle, previous} when the delete \`op\` left it; nil otherwise. The
-- tombstone's expiry is renewed then: a re-send comes on a new connection, and that write is what a
-- WAIT there (durability) counts; it comes after the delete in the replication stream, so it covers it.
local function buried_by(key, raw, op)
  if not raw then return nil end
  local t = cjson.decode(raw)
  if t[1] ~= op then return nil end
  redis.call('PEXPIRE', key, ${TOMBSTONE_TTL_MS})
  return {t[2], t[3], t[4]}
end
`;

// The expiry rule shared by every script: the key lives until the earlier of the idle deadline
// (last access + idle) and the absolute deadline, so it can never outlive the absolute deadline.
const EXPIRE_AT = `
local function expire_at(key, now, idle, deadline)
  local at = now + idle
  if deadline < at then at = deadline end
  redis.call('PEXPIREAT', key, at)
end
-- The liveness rule, from the raw last-access and deadline fields: deadline and last access of a
-- live session; nil (and the key deleted when it is past either deadline) otherwise.
local function judge(key, raw_last, raw_deadline, now, idle)
  if not raw_last or not raw_deadline then return nil end
  local last, deadline = tonumber(raw_last), tonumber(raw_deadline)
  if not last or not deadline or now >= deadline or now >= last + idle then
    redis.call('DEL', key)
    return nil
  end
  return deadline, last
end
-- A live, writable session: its deadline and size; nil when absent or expired, and nil with
-- 'retired' for one a rotation replaced (read-only until its grace ends, then gone).
local function alive(key, now, idle)
  local meta = redis.call('HMGET', key, '${META.lastAccess}', '${META.deadline}', '${META.size}', '${META.retiredUntil}')
  local deadline = judge(key, meta[1], meta[2], now, idle)
  if not deadline then return nil end
  if meta[4] then return nil, 'retired' end
  return deadline, tonumber(meta[3] or '0') or 0
end
`;

/**
 * Load one session and slide its idle expiry in the same round trip. The touch is throttled: it
 * writes only when the last recorded access is older than touchAfter, so most reads write nothing.
 * Returns the HGETALL array (with the refreshed last-access value) encoded as one JSON string, or
 * nil when absent or expired. One bulk string rather than a RESP array: ioredis decodes each array
 * element on its own, which cost the app 15 µs of CPU per read against 7 µs for a session with no
 * data keys and 25 against 9 µs with 10 (`npm run bench:reply`), while Redis spends about as much
 * on cjson.encode as on writing the array. ARGV: now, idleMs, touchAfterMs.
 */
const LOAD_AND_TOUCH = `${EXPIRE_AT}
local now, idle, touch_after = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
-- One HGETALL, liveness judged from its own fields (alive() would add an HMGET): the read path is
-- most of the traffic, and every inner command is Redis CPU per request.
local fields = redis.call('HGETALL', KEYS[1])
local raw_last, raw_deadline, last_at
for i = 1, #fields, 2 do
  local field = fields[i]
  if field == '${META.lastAccess}' then
    raw_last, last_at = fields[i + 1], i + 1
  elseif field == '${META.deadline}' then
    raw_deadline = fields[i + 1]
  end
  if raw_last and raw_deadline then break end
end
local deadline, last = judge(KEYS[1], raw_last, raw_deadline, now, idle)
if not deadline then return nil end
-- A retired session is never slid: it must end with its grace. Checked only when a touch is due.
if now - last >= touch_after and redis.call('HEXISTS', KEYS[1], '${META.retiredUntil}') == 0 then
  redis.call('HSET', KEYS[1], '${META.lastAccess}', ARGV[1])
  expire_at(KEYS[1], now, idle, deadline)
  fields[last_at] = ARGV[1]
end
return cjson.encode(fields)
`;

// HSET or HDEL of ARGV[first..last] in chunks of 1000 values (500 field/value pairs): one unpack()
// stops at Lua's C stack, about 8000 values, which a session of some 4000 small keys reaches.
const CHUNKED = `
local function chunked(command, key, first, last)
  for i = first, last, 1000 do
    local j = i + 999
    if j > last then j = last end
    redis.call(command, key, unpack(ARGV, i, j))
  end
end
`;

/**
 * Create a session hash only if the key is free, and give it its expiry in the same script, so no
 * session key ever exists without a TTL. ARGV: now, idleMs, deadline, field, value, field, value...
 * Returns 1 when created, 0 when the key already existed (an id collision: the caller retries).
 */
const CREATE = `${EXPIRE_AT}${CHUNKED}
if redis.call('EXISTS', KEYS[1]) == 1 then
  -- A re-send of this very create (ioredis re-sends a command left unanswered by a dropped
  -- connection) finds its own session, with its handle: done. Any other is an id collision.
  for i = 4, #ARGV - 1, 2 do
    if ARGV[i] == '${META.handle}' then
      return redis.call('HGET', KEYS[1], '${META.handle}') == ARGV[i + 1] and 1 or 0
    end
  end
  return 0
end
chunked('HSET', KEYS[1], 4, #ARGV)
expire_at(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
return 1
`;

/**
 * Apply a delta (fields to set, fields to delete) to a live session. A destroyed or expired session
 * is never recreated, the size limit is checked against the stored size atomically, and the expiry
 * is refreshed in the same step. ARGV: now, idleMs, maxBytes, nSet, set pairs..., fields to delete...
 * Returns {1, newSize}, {0} when the session is gone, {-1} when over maxBytes (nothing written),
 * {-3} when a rotation replaced it.
 */
const COMMIT = `${EXPIRE_AT}${CHUNKED}
local now, idle, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local deadline, size = alive(KEYS[1], now, idle)
if not deadline then return {size == 'retired' and -3 or 0} end
local n_set = tonumber(ARGV[4])
local last_set = 4 + n_set * 2
for i = 5, last_set, 2 do
  local old = redis.call('HSTRLEN', KEYS[1], ARGV[i])
  if old > 0 or redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then size = size - #ARGV[i] - old end
  size = size + #ARGV[i] + #ARGV[i + 1]
end
for i = last_set + 1, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    size = size - #ARGV[i] - redis.call('HSTRLEN', KEYS[1], ARGV[i])
  end
end
if size > max then return {-1} end
if n_set > 0 then chunked('HSET', KEYS[1], 5, last_set) end
if #ARGV > last_set then chunked('HDEL', KEYS[1], last_set + 1, #ARGV) end
redis.call('HSET', KEYS[1], '${META.size}', size, '${META.lastAccess}', ARGV[1])
expire_at(KEYS[1], now, idle, deadline)
return {1, size}
`;

/**
 * Atomically add an integer to one data field (absent counts as 0), exactly once per op id: a
 * re-sent command (ioredis after a reconnect, Cluster after a redirect) whose op id is among the
 * session's last REMEMBERED_OPS (16) returns the first result and changes nothing. ARGV: now, idleMs,
 * maxBytes, field, by (a safe integer, checked by the caller), op id (base64url). Returns
 * {1, newValue}, {0} gone, {-1} over maxBytes, {-2} the field is not an integer or the value before
 * or after is beyond MAX_SAFE_INTEGER, {-3} replaced by a rotation.
 */
const INCREMENT = `${EXPIRE_AT}
local MAX_SAFE_INTEGER = ${Number.MAX_SAFE_INTEGER}
local now, idle, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local deadline, size = alive(KEYS[1], now, idle)
if not deadline and size ~= 'retired' then return {0} end
local field, op = ARGV[4], ARGV[6]
local ops = redis.call('HGET', KEYS[1], '${META.ops}') or ''
local seen = string.find(ops, ';' .. op .. '=', 1, true)
-- Looked up before the retired check: a re-send that arrives after a rotation froze the session
-- was applied the first time (and copied into the new session), so it gets that answer, not a 409.
if seen then return {1, string.match(ops, '^%-?%d+', seen + #op + 2)} end
if not deadline then return {-3} end
local old = redis.call('HGET', KEYS[1], field)
if old and not string.match(old, '^%-?%d+$') then return {-2} end
local before = tonumber(old or '0')
local value = before + tonumber(ARGV[5])
-- Past 2^53 a Lua number (a double) no longer holds every integer, and %d wraps past 2^63: such a
-- value is refused as JavaScript could not read it back exactly either (as MemorySessionStore does).
if math.abs(before) > MAX_SAFE_INTEGER or math.abs(value) > MAX_SAFE_INTEGER then return {-2} end
local text = string.format('%d', value)
if old then size = size - #field - #old end
size = size + #field + #text
if size > max then return {-1} end
ops = ops .. ';' .. op .. '=' .. text
local _, count = string.gsub(ops, ';', '')
while count > ${REMEMBERED_OPS} do
  ops = string.sub(ops, (string.find(ops, ';', 2, true)))
  count = count - 1
end
redis.call('HSET', KEYS[1], field, text, '${META.size}', size, '${META.lastAccess}', ARGV[1], '${META.ops}', ops)
expire_at(KEYS[1], now, idle, deadline)
return {1, text}
`;

/**
 * Delete a session and return its {userId, handle, previous} so the caller can unlink it from the
 * user index and delete the session it retired (another slot on Cluster, so not from here). The
 * deleted session leaves a tombstone naming this delete (ARGV[1], a random op id): ioredis re-sends
 * a command whose reply a dropped connection lost, and the re-send must get the same answer, not
 * "no such session", or the logout would skip the unlink, the retired session's delete, the
 * durability wait and its event. Another delete finds nothing (nil), as without the tombstone.
 */
const DESTROY = `
local meta = redis.call('HMGET', KEYS[1], '${META.userId}', '${META.handle}', '${META.previous}', '${META.gone}')
if meta[4] then return buried_by(KEYS[1], meta[4], ARGV[1]) end
if not bury(KEYS[1], ARGV[1], meta[1], meta[2], meta[3]) then return nil end
return {meta[1] or '', meta[2] or '', meta[3] or ''}
`;

/**
 * The first step of a rotation: read the session and freeze it in one step, so no write can land
 * in it after its data was copied into the new session (that write would be acknowledged and then
 * lost with the old session). Frozen is retired: readable, never writable or slid, until ARGV[3]
 * (the end of the grace) unless the rotation thaws it. Returns the fields as one JSON string, as
 * LOAD_AND_TOUCH does; nil when absent or expired, 0 when already retired or frozen (a concurrent
 * rotation won). ARGV: now, idleMs, frozen until.
 */
const FREEZE = `
local now, idle = tonumber(ARGV[1]), tonumber(ARGV[2])
local fields = redis.call('HGETALL', KEYS[1])
local raw_last, raw_deadline, retired
for i = 1, #fields, 2 do
  local field = fields[i]
  if field == '${META.lastAccess}' then raw_last = fields[i + 1]
  elseif field == '${META.deadline}' then raw_deadline = fields[i + 1]
  elseif field == '${META.retiredUntil}' then retired = fields[i + 1] end
end
if not judge(KEYS[1], raw_last, raw_deadline, now, idle) then return nil end
-- Frozen with this rotation's own value: a re-send of this very freeze.
if retired then return retired == ARGV[3] and cjson.encode(fields) or 0 end
redis.call('HSET', KEYS[1], '${META.retiredUntil}', ARGV[3])
return cjson.encode(fields)
`;

/** A rotation that failed after FREEZE gives the session back, if it is still the one it froze. ARGV: frozen until. */
const THAW = `
if redis.call('HGET', KEYS[1], '${META.retiredUntil}') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], '${META.retiredUntil}')
return 1
`;

/**
 * The last step of a rotation, once the new session exists: the frozen session is retired until
 * ARGV[4], the end of the grace, so requests still in flight with its credential are not taken for
 * forged ones, or deleted at once when ARGV[4] is 0 (leaving a tombstone named by the freeze, so a
 * re-send of this step finds its own work, as DESTROY's does). Refused: nil when it is absent or expired (a
 * logout or revoke ended it meanwhile: the new session must not outlive it), 0 when it is no longer
 * frozen by this rotation. Returns {userId, handle, previous}: the caller unlinks it from the user
 * index and deletes the session it had itself retired, so one live session keeps at most one
 * retired one. ARGV: now, idleMs, frozen until, grace end (0: delete).
 */
const RETIRE = `
local now, idle, grace_end = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
local meta = redis.call('HMGET', KEYS[1], '${META.lastAccess}', '${META.deadline}', '${META.retiredUntil}',
  '${META.userId}', '${META.handle}', '${META.previous}', '${META.gone}')
-- Deleted by this very step (no grace; its tombstone names the freeze): a re-send. Another's: gone.
if meta[7] then return buried_by(KEYS[1], meta[7], ARGV[3]) end
local deadline = judge(KEYS[1], meta[1], meta[2], now, idle)
if not deadline then return nil end
-- Retired with this rotation's own grace end: a re-send of this very step.
if meta[3] == ARGV[4] then return {meta[4] or '', meta[5] or '', meta[6] or ''} end
if meta[3] ~= ARGV[3] then return 0 end
if grace_end == 0 then
  bury(KEYS[1], ARGV[3], meta[4], meta[5], meta[6])
else
  local at = grace_end
  if deadline < at then at = deadline end
  redis.call('HSET', KEYS[1], '${META.retiredUntil}', ARGV[4])
  redis.call('HDEL', KEYS[1], '${META.previous}')
  redis.call('PEXPIREAT', KEYS[1], at)
end
return {meta[4] or '', meta[5] or '', meta[6] or ''}
`;

/**
 * Add a member to a user index, prune entries past their deadline, pick the oldest beyond max as
 * victims (never the member just added) and keep the index's TTL at its latest deadline, so an
 * index can never outlive every session it lists. The victims stay listed: the caller's destroy of
 * each one unlinks it, so a victim whose destroy fails or never runs (a failure before it, a
 * sign-in refused by "sign out everywhere") is still listed and revocable, and a re-send of this
 * script (ioredis after a lost reply) returns the same victims. Until those destroys run the index
 * holds more than max. ARGV: now, member, deadline, max (0 = no limit). Returns the victims.
 */
const INDEX_ADD = `
local now, member, max = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], ARGV[3], member)
local evicted = {}
if max > 0 then
  local over = redis.call('ZCARD', KEYS[1]) - max
  if over > 0 then
    for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, over)) do
      if m ~= member and #evicted < over then table.insert(evicted, m) end
    end
  end
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
return evicted
`;

/** Prune expired entries from a user index and return the live members. ARGV: now. */
const INDEX_LIST = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

/**
 * Deletes the session a destroyed or retired one had retired itself (its `m:p`), unless what is
 * left there is a tombstone: a logout of that retired session's own credential left it, and its
 * re-send must still find it for the tombstone's minute. Returns 1 when it deleted, else 0.
 */
const DROP_RETIRED = `
if redis.call('HEXISTS', KEYS[1], '${META.gone}') == 1 then return 0 end
return redis.call('DEL', KEYS[1])
`;

/** The scripts, each with the number of keys it declares (always one: Cluster-safe). */
export const SCRIPTS = {
  sessionLoadAndTouch: { numberOfKeys: 1, lua: LOAD_AND_TOUCH },
  sessionCreate: { numberOfKeys: 1, lua: CREATE },
  sessionCommit: { numberOfKeys: 1, lua: COMMIT },
  sessionIncrement: { numberOfKeys: 1, lua: INCREMENT },
  sessionDestroy: { numberOfKeys: 1, lua: `${TOMBSTONE}${DESTROY}` },
  sessionFreeze: { numberOfKeys: 1, lua: `${EXPIRE_AT}${FREEZE}` },
  sessionThaw: { numberOfKeys: 1, lua: THAW },
  sessionRetire: { numberOfKeys: 1, lua: `${EXPIRE_AT}${TOMBSTONE}${RETIRE}` },
  sessionDropRetired: { numberOfKeys: 1, lua: DROP_RETIRED },
  userIndexAdd: { numberOfKeys: 1, lua: INDEX_ADD },
  userIndexList: { numberOfKeys: 1, lua: INDEX_LIST },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
