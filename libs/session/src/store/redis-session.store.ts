import { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { randomInt } from 'node:crypto';
import { randomToken } from '../crypto.util.js';
import { SessionDataTooLargeError, SessionDurabilityError, SessionGoneError, SessionStoreUnavailableError } from '../session.errors.js';
import {
  DATA_PREFIX,
  FORMAT_VERSION,
  META,
  SCRIPTS,
  dataField,
  fieldCost,
  indexMember,
  parseIndexMember,
  REVOKED_MARK_TTL_MS,
  sessionKey,
  tombstoneOp,
  userIndexKey,
  userRevokedKey,
  type ScriptName,
} from './redis-schema.js';
import type {
  DurabilitySettings,
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
} from './session-store.interface.js';
import { applyDelta, dataBytes, largestKey } from './session-data.util.js';
import { RedisDeadlineIndex } from './redis-deadline.index.js';
import { TurnWriteBatcher } from '../redis/turn-write-batcher.js';
import { withEvicted } from './evicted-before-failure.js';

type ScriptRunner = (key: string, ...args: Array<string | number>) => Promise<unknown>;

/** A carrier no socket equals: a write issued while disconnected is never confirmed. */
const NOT_CONNECTED = Object.freeze({});
/**
 * How long a rotation without a grace holds the old session frozen (read-only) at most: longer than
 * its few round trips take under the command timeout. Only a rotation that fails and cannot thaw it
 * (Redis gone) leaves it frozen that long, then refused.
 */
const ROTATION_FREEZE_MS = 10_000;

/** Redis (standalone, Sentinel or Cluster) implementation of the SessionStore contract. */
export class RedisSessionStore implements SessionStore {
  private readonly logger = new Logger('SessionStore');
  /** Deadline sets for `session.expired` events; null unless `expiryEvents` is on. */
  private readonly deadlines: RedisDeadlineIndex | null;
  /** The client's options do not change after construction: read once, not per call. */
  private readonly callDeadlineMs: number | null;
  private readonly batcher: TurnWriteBatcher | null;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly settings: StoreSettings,
  ) {
    for (const [name, script] of Object.entries(SCRIPTS)) {
      // defineCommand sends EVALSHA and falls back to EVAL after NOSCRIPT (e.g. after a restart).
      redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
    this.callDeadlineMs = callDeadlineFor(redis);
    this.batcher = settings.batchWrites === false ? null : TurnWriteBatcher.for(redis);
    const expiry = settings.expiryEvents;
    this.deadlines = expiry ? new RedisDeadlineIndex(redis, { ...settings, expiryEvents: expiry }) : null;
  }

  async find(storeId: string): Promise<StoredSession | null> {
    const { idleMs, touchAfterMs } = this.settings;
    const reply = await this.run('sessionLoadAndTouch', this.key(storeId), Date.now(), idleMs, touchAfterMs);
    if (reply === null) return null;
    return this.decode(storeId, expectStrings(parseJsonReply(reply), 'sessionLoadAndTouch'));
  }

  async create(session: NewSession): Promise<SessionWritten> {
    const size = dataBytes(session.data);
    if (size > this.settings.maxDataBytes) {
      throw new SessionDataTooLargeError(largestKey(session.data), this.settings.maxDataBytes);
    }
    const created = await this.run(
      'sessionCreate',
      this.key(session.storeId),
      Date.now(),
      this.settings.idleMs,
      session.absoluteDeadline,
      ...this.encodeFields(session, Date.now(), size),
    );
    if (created !== 1) throw new SessionStoreUnavailableError('session id collision; retry');
    const carrier = this.durableWriteCarrier();
    // After the session exists: a failed create must never leave an entry that reads as "expired".
    await this.deadlines?.add(session);
    // Indexed once the session exists (another instance listing the user's sessions never sees the
    // entry without its session and prunes it, which left sessions no "revoke all" could reach) and
    // before the caller hands out the credential, so "revoke all" never misses an acknowledged one.
    const evicted = session.userId
      ? await this.indexAdd(session.userId, session.handle, session.storeId, session.absoluteDeadline, true)
      : [];
    const revoked = session.userId !== null && (await this.revokedSince(session.userId, session.notRevokedSince));
    if (revoked) {
      // A sign-in that never happened evicts nothing: the victims are still indexed (see
      // userIndexAdd), and one may be the very session "sign out everywhere else" kept.
      await this.destroy(session.storeId);
      throw new SessionGoneError();
    }
    const ended = session.userId ? await this.evict(session.userId, evicted) : [];
    return this.written(carrier, ended);
  }

  async commit(storeId: string, delta: SessionDelta): Promise<'ok' | WriteRefusal> {
    const sets = [...delta.set].flatMap(([key, json]) => [dataField(key), json]);
    const deletes = [...delta.delete].map(dataField);
    const reply = await this.run(
      'sessionCommit',
      this.key(storeId),
      Date.now(),
      this.settings.idleMs,
      this.settings.maxDataBytes,
      delta.set.size,
      ...sets,
      ...deletes,
    );
    return this.confirmed(this.durableWriteCarrier(), writeOutcome(reply));
  }

  async increment(storeId: string, key: string, by: number): Promise<number | WriteRefusal> {
    // The script adds Lua numbers (doubles): past 2^53 they no longer hold every integer.
    if (!Number.isSafeInteger(by)) return 'not-an-integer';
    // The op id makes the script idempotent: ioredis re-sends a command whose reply was lost when
    // it reconnects (and Cluster retries after MOVED/failover), and the script applies it once.
    const reply = await this.run(
      'sessionIncrement',
      this.key(storeId),
      Date.now(),
      this.settings.idleMs,
      this.settings.maxDataBytes,
      dataField(key),
      by,
      randomToken(12),
    );
    const outcome = await this.confirmed(this.durableWriteCarrier(), writeOutcome(reply));
    return outcome === 'ok' ? Number((reply as unknown[])[1]) : outcome;
  }

  async rotate(fromStoreId: string, to: RotationTarget, delta: SessionDelta): Promise<RotationOutcome> {
    const graceMs = this.settings.rotationGraceMs ?? 0;
    // Frozen from the read on: a write racing this rotation is refused (409), never acknowledged
    // and then lost with the old session after its data was copied. Frozen is retired: read-only,
    // until the grace ends or, without a grace, until the rotation deletes it. The mark has a random
    // fraction of a millisecond, so two rotations in one millisecond never take each other's freeze
    // for a re-send of their own (see sessionFreeze); to the loader it is a time.
    const frozenUntil = `${Date.now() + Math.max(graceMs, ROTATION_FREEZE_MS)}.${String(randomInt(1e9)).padStart(9, '0')}`;
    let createdNew = false;
    let carrier: object | null = null;
    let old: StoredSession | null = null;
    // Set once the retire step may have begun: from then on the old session may be retired, or
    // deleted (no grace), whatever a failure says, and the new one may be all the user has left.
    let retiring = false;
    let graceEnd = 0;
    let ended: string[] = [];
    try {
      // Inside the try: a freeze whose reply timed out may still have run, and is thawed below.
      const frozen = await this.freeze(fromStoreId, frozenUntil);
      if (frozen === 'gone' || frozen === 'replaced') return frozen;
      old = frozen;
      const data = applyDelta(old.data, delta);
      const size = dataBytes(data);
      if (size > this.settings.maxDataBytes) {
        await this.thaw(fromStoreId, frozenUntil);
        return 'too-large';
      }
      const next: NewSession = { ...old, ...to, data };
      const sameUser = old.userId !== null && old.userId === to.userId;
      const now = Date.now();
      const fields = this.encodeFields(next, now, size);
      if (graceMs > 0) fields.push(META.previous, fromStoreId);
      const reply = await this.run('sessionCreate', this.key(to.storeId), now, this.settings.idleMs, old.absoluteDeadline, ...fields);
      if (reply !== 1) throw new SessionStoreUnavailableError('session id collision; retry');
      createdNew = true;
      carrier = this.durableWriteCarrier();
      await this.deadlines?.add(next);
      // Indexed after the session exists, before the credential is handed out (see create).
      const evicted = to.userId
        ? await this.indexAdd(to.userId, to.handle, to.storeId, old.absoluteDeadline, !sameUser)
        : [];
      const revoked = to.userId !== null && (await this.revokedSince(to.userId, to.notRevokedSince, old.handle));
      // The old session must still exist when it is retired or deleted: if a logout, a revoke or a
      // concurrent rotation of the same id removed it meanwhile, the new session must not outlive it.
      let outcome: 'ok' | 'gone' | 'replaced';
      if (revoked) {
        // The user was signed out everywhere meanwhile; the old session, if the revoke did not
        // reach it (a guest's, in no index), is given back as it was. Nothing is evicted (see create).
        await this.thaw(fromStoreId, frozenUntil);
        outcome = 'gone';
      } else {
        // Before the old session is retired: a failure here rolls the rotation back while the old
        // session still works, rather than after it stopped working.
        if (to.userId) ended = await this.evict(to.userId, evicted);
        graceEnd = graceMs > 0 ? Date.now() + graceMs : 0;
        retiring = true;
        outcome = await this.retire(fromStoreId, frozenUntil, graceEnd);
        retiring = false;
      }
      if (outcome !== 'ok') {
        // Alone: the old session is not this one's to end.
        await this.destroyOne(to.storeId, { alone: true });
        return ended.length > 0 ? { refused: outcome, evicted: ended } : outcome;
      }
      return await this.written(carrier, ended);
    } catch (error) {
      // Give the old session back, unless it was retired already (the thaw checks the mark is still
      // the freeze's), and drop the new one, whose credential was never handed out. Best effort:
      // with Redis gone the old one stays read-only until frozenUntil.
      const thawed = await this.thaw(fromStoreId, frozenUntil).catch(() => null);
      if (retiring && thawed !== true) {
        // The retire may have run with its reply lost; the old session's mark (without a grace,
        // its tombstone) tells, when it can be read. This rotation's: it ran, and the rotation is
        // complete but for the unlink, which is best effort anyway.
        const fate = thawed === false ? await this.retireFate(fromStoreId, frozenUntil, graceEnd) : 'unknown';
        if (fate === 'retired' && old) {
          await this.unlinkAfterRetire(old.userId ?? '', old.handle, fromStoreId, '');
          return await this.written(carrier, ended);
        }
        if (fate === 'unknown') {
          // Redis unreachable, or the grace over: the old session may be retired or gone, so the
          // new one is not dropped. The client gets a 503 without the new credential. What the
          // user sees: with a grace, the old credential still reads the session, read-only (writes
          // 409), until the grace ends (or the freeze, if the thaw failed), then 401; without one
          // it may be dead already (401: signed out). The new session stays listed until it idles out.
          throw withEvicted(error, ended);
        }
        // A logout or a revoke ended the old session: the new one must not outlive it (rolled back below).
      }
      // Still frozen, so the retire never ran (or the old session is gone): retire() had taken
      // it out of the deadline set.
      if (retiring) await this.restoreDeadline(fromStoreId);
      if (createdNew) await this.destroyOne(to.storeId, { alone: true }).catch(() => undefined);
      // Evicted before the failure: they stay gone, and are reported with it.
      throw withEvicted(error, ended);
    }
  }

  async destroy(storeId: string, options: { durable?: boolean } = {}): Promise<boolean> {
    return this.destroyOne(storeId, options);
  }

  /**
   * Deletes a session, unlinks it from its user and, unless `alone`, deletes the session it retired
   * when it was rotated in (a logout or a revoke ends that grace too).
   */
  private async destroyOne(storeId: string, options: { durable?: boolean; alone?: boolean }): Promise<boolean> {
    // Before the delete, so the sweeper never mistakes a destroyed session for an expired one.
    await this.deadlines?.remove(storeId);
    let reply: unknown;
    try {
      // The op id names this delete's tombstone: a re-send of it (see DESTROY) gets the same answer.
      reply = await this.run('sessionDestroy', this.key(storeId), randomToken(12));
    } catch (error) {
      // The delete may not have run: a session still there must still report its expiry.
      await this.restoreDeadline(storeId);
      throw error;
    }
    if (reply === null) return false;
    const durability = options.durable ? this.settings.durability : null;
    const unconfirmed = durability ? await this.replicasMissing(this.key(storeId), durability) : null;
    const [userId, handle, previous] = expectStrings(reply, 'sessionDestroy');
    await this.unlink(userId, handle, storeId, options.alone ? '' : previous);
    if (unconfirmed) throw unconfirmed;
    return true;
  }

  /** Reads a session and freezes it for a rotation (see the sessionFreeze script). */
  private async freeze(storeId: string, frozenUntil: string): Promise<StoredSession | 'gone' | 'replaced'> {
    const reply = await this.run('sessionFreeze', this.key(storeId), Date.now(), this.settings.idleMs, frozenUntil);
    if (reply === 0) return 'replaced';
    const fields = reply === null ? null : parseJsonReply(reply);
    return (Array.isArray(fields) && this.decode(storeId, fields as string[])) || 'gone';
  }

  /** Whether the session was still frozen by this rotation (and is now writable again). */
  private async thaw(storeId: string, frozenUntil: string): Promise<boolean> {
    return (await this.run('sessionThaw', this.key(storeId), frozenUntil)) === 1;
  }

  /**
   * What became of a session no longer frozen by this rotation, whose retire step failed: retired
   * by that step (its reply lost: marked with this grace end, or without a grace, its tombstone
   * named by the freeze), ended by something else (a logout's tombstone, or no key while a retired
   * one would still be there), or unknown (Redis did not answer, or the grace is over).
   */
  private async retireFate(storeId: string, frozenUntil: string, graceEnd: number): Promise<'retired' | 'ended-elsewhere' | 'unknown'> {
    let retiredUntil: string | null;
    let tombstone: string | null;
    try {
      [retiredUntil, tombstone] = await this.call(() => this.redis.hmget(this.key(storeId), META.retiredUntil, META.gone));
    } catch {
      return 'unknown';
    }
    if (graceEnd > 0 ? retiredUntil === String(graceEnd) : tombstoneOp(tombstone) === frozenUntil) return 'retired';
    return retiredUntil === null && (graceEnd === 0 || Date.now() < graceEnd) ? 'ended-elsewhere' : 'unknown';
  }

  /**
   * Retires a frozen session until `graceEnd`, or deletes it when `graceEnd` is 0 (see the
   * sessionRetire script), and unlinks it from its user.
   */
  private async retire(storeId: string, frozenUntil: string, graceEnd: number): Promise<'ok' | 'gone' | 'replaced'> {
    // Out of the deadline set: a retired session ends by design, it does not "expire".
    await this.deadlines?.remove(storeId);
    const reply = await this.run('sessionRetire', this.key(storeId), Date.now(), this.settings.idleMs, frozenUntil, graceEnd);
    if (reply === null) return 'gone';
    if (reply === 0) return 'replaced';
    const [userId, handle, previous] = expectStrings(reply, 'sessionRetire');
    await this.unlinkAfterRetire(userId, handle, storeId, previous);
    return 'ok';
  }

  /**
   * Best effort: the rotation is done once the old session is retired, and failing it now would
   * only drop the new session the user needs. Left behind on failure: the retired session stays
   * listed, and the one it had retired itself readable, both only until their grace ends (their
   * keys expire then; listing prunes the entry).
   */
  private async unlinkAfterRetire(userId: string, handle: string, storeId: string, previous: string): Promise<void> {
    try {
      await this.unlink(userId, handle, storeId, previous);
    } catch (error) {
      this.logger.warn(`A rotated-away session was not unlinked from its user (${String(error)}); it stays listed until its grace ends`);
    }
  }

  /**
   * Puts a session that a failed delete or retire may have left in place back in the deadline set
   * (both remove it first, see destroyOne), so its expiry is still reported. Best effort: a failure
   * here loses that one session.expired event.
   */
  private async restoreDeadline(storeId: string): Promise<void> {
    if (!this.deadlines) return;
    try {
      const [handle, userId, deadline, retiredUntil] = await this.call(() =>
        this.redis.hmget(this.key(storeId), META.handle, META.userId, META.deadline, META.retiredUntil),
      );
      // Gone: the delete ran after all. Retired (or frozen by a rotation): it ends by design.
      if (!handle || !deadline || retiredUntil !== null) return;
      await this.deadlines.add({ storeId, handle, userId: userId || null, absoluteDeadline: Number(deadline) });
    } catch {
      // See above.
    }
  }

  /** Takes an ended or retired session out of its user's index and deletes the one it retired, if any. */
  private async unlink(userId: string, handle: string, storeId: string, previous: string): Promise<void> {
    const index = userIndexKey(this.settings.keyPrefix, userId);
    await Promise.all([
      userId && handle ? this.call(() => this.redis.zrem(index, indexMember(handle, storeId))) : null,
      previous ? this.run('sessionDropRetired', this.key(previous)) : null,
    ]);
  }

  async listForUser(userId: string): Promise<SessionInfo[]> {
    const members = await this.indexList(userId);
    const rows = await Promise.all(
      members.map(async (m) => ({ m, info: await this.info(userId, m.handle, m.storeId) })),
    );
    const stale = rows.filter((r) => r.info === null).map((r) => indexMember(r.m.handle, r.m.storeId));
    if (stale.length > 0) {
      await this.call(() => this.redis.zrem(userIndexKey(this.settings.keyPrefix, userId), ...stale));
    }
    return rows.flatMap((r) => (r.info ? [r.info] : [])).sort((a, b) => a.createdAt - b.createdAt);
  }

  async destroyByHandle(userId: string, handle: string): Promise<boolean> {
    const member = (await this.indexList(userId)).find((m) => m.handle === handle);
    return member ? this.destroy(member.storeId, { durable: true }) : false;
  }

  async destroyAllForUser(userId: string, exceptHandle?: string): Promise<number> {
    // Marked first: a login under way now finds the mark after indexing its session and gives up.
    const mark = userRevokedKey(this.settings.keyPrefix, userId);
    // The kept session's handle goes with the mark: that session may rotate right after (a password
    // change that signs out every other device, then regenerates), and is not the one revoked.
    await this.call(() => this.redis.set(mark, exceptHandle ? `${Date.now()}:${exceptHandle}` : String(Date.now()), 'PX', REVOKED_MARK_TTL_MS));
    const members = (await this.indexList(userId)).filter((m) => m.handle !== exceptHandle);
    const results = await Promise.all(members.map((m) => this.destroy(m.storeId, { durable: true })));
    return results.filter(Boolean).length;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /**
   * `WAIT` on the connection that deleted `key`: a pipeline that names the key is routed to the node
   * owning its slot on Cluster (one connection per node), and WAIT counts that connection's writes.
   * Returns the error to report when fewer than `replicas` acknowledged, else null.
   */
  private async replicasMissing(
    key: string,
    { replicas, timeoutMs }: { replicas: number; timeoutMs: number },
  ): Promise<SessionDurabilityError | null> {
    let results: Array<[Error | null, unknown]> | null;
    try {
      // HEXISTS of a field every session has: the deleted key's tombstone is no session.
      results = await this.call(() => this.redis.pipeline().hexists(key, META.lastAccess).wait(replicas, timeoutMs).exec());
    } catch (error) {
      return new SessionDurabilityError(0, replicas, timeoutMs, error);
    }
    const [existsError, stillThere] = results?.[0] ?? [new Error('no reply to HEXISTS'), 1];
    const [error, acknowledged] = results?.[1] ?? [new Error('no reply to WAIT'), 0];
    if (existsError || error) return new SessionDurabilityError(0, replicas, timeoutMs, existsError ?? error);
    // The connection can move to a new master between the delete and this pipeline (a failover
    // closes client connections): there WAIT counts other writes, so the key must also be gone.
    if (Number(stillThere) !== 0) {
      return new SessionDurabilityError(0, replicas, timeoutMs, new Error('the session is still present on the current master'));
    }
    const count = Number(acknowledged);
    return count >= replicas ? null : new SessionDurabilityError(count, replicas, timeoutMs);
  }

  /**
   * With `durability.writes`, the socket that carried a write (null otherwise): called as soon as
   * the write's reply is in, which the current socket delivered (a reconnect comes in a later
   * event). WAIT counts the writes of the connection it arrives on, so it proves something only if
   * that is still this socket: ioredis replaces it when it reconnects, say to a master just promoted.
   */
  private durableWriteCarrier(): object | null {
    if (!this.settings.durability?.writes) return null;
    return this.socket() ?? NOT_CONNECTED;
  }

  /** The socket ioredis writes on now (standalone and Sentinel: durable writes are refused on Cluster). */
  private socket(): object | undefined {
    return (this.redis as unknown as { stream?: object }).stream;
  }

  /** Throws when the replicas did not confirm a write that happened; refusals wrote nothing. */
  private async confirmed<T extends 'ok' | WriteRefusal>(carrier: object | null, outcome: T): Promise<T> {
    const unconfirmed = carrier && outcome === 'ok' ? await this.writesUnconfirmed(carrier) : null;
    if (unconfirmed) throw unconfirmed;
    return outcome;
  }

  /** A sign-in done (create, rotate): what it evicted, and whether the replicas confirmed it. */
  private async written(carrier: object | null, evicted: string[]): Promise<SessionWritten> {
    const unconfirmed = carrier ? await this.writesUnconfirmed(carrier) : null;
    return unconfirmed ? { evicted, unconfirmed } : { evicted };
  }

  private async writesUnconfirmed(carrier: object): Promise<SessionDurabilityError | null> {
    const { replicas, timeoutMs } = this.settings.durability as DurabilitySettings;
    const unconfirmed = (acknowledged: number, cause?: unknown) => new SessionDurabilityError(acknowledged, replicas, timeoutMs, cause, 'write');
    let acknowledged: number;
    try {
      acknowledged = Number(await this.call(() => (this.redis as Redis).wait(replicas, timeoutMs)));
    } catch (error) {
      return unconfirmed(0, error);
    }
    if (this.socket() !== carrier) return unconfirmed(0, new Error('the connection to Redis was replaced during the write'));
    return acknowledged >= replicas ? null : unconfirmed(acknowledged);
  }

  /**
   * Whether "sign out everywhere" ran for the user at or after `since` (no check without `since`)
   * and did not keep `ownHandle` (the rotating session's).
   */
  private async revokedSince(userId: string, since: number | undefined, ownHandle?: string): Promise<boolean> {
    if (since === undefined) return false;
    const mark = await this.call(() => this.redis.get(userRevokedKey(this.settings.keyPrefix, userId)));
    if (mark === null) return false;
    const colon = mark.indexOf(':');
    const at = Number(colon < 0 ? mark : mark.slice(0, colon));
    const kept = colon < 0 ? null : mark.slice(colon + 1);
    return at >= since && (ownHandle === undefined || kept !== ownHandle);
  }

  private key(storeId: string): string {
    return sessionKey(this.settings.keyPrefix, storeId);
  }

  private async info(userId: string, handle: string, storeId: string): Promise<SessionInfo | null> {
    const [created, last, deadline, owner, ua] = await this.call(() =>
      this.redis.hmget(this.key(storeId), META.created, META.lastAccess, META.deadline, META.userId, META.userAgent),
    );
    if (!created || !last || !deadline || owner !== userId) return null;
    const expiresAt = Math.min(Number(last) + this.settings.idleMs, Number(deadline));
    if (expiresAt <= Date.now()) return null;
    return { handle, userId, createdAt: Number(created), lastAccessAt: Number(last), expiresAt, userAgent: ua };
  }

  private async indexAdd(
    userId: string,
    handle: string,
    storeId: string,
    deadline: number,
    enforceLimit: boolean,
  ): Promise<string[]> {
    const max = enforceLimit ? (this.settings.maxSessionsPerUser ?? 0) : 0;
    // The index script prunes by absolute deadline only: sessions that idled out are still listed
    // and would count against the limit (evicting a live one). Drop them first.
    if (max > 0) await this.listForUser(userId);
    const reply = await this.run(
      'userIndexAdd',
      userIndexKey(this.settings.keyPrefix, userId),
      Date.now(),
      indexMember(handle, storeId),
      deadline,
      max,
    );
    return expectStrings(reply, 'userIndexAdd');
  }

  private async indexList(userId: string): Promise<Array<{ handle: string; storeId: string }>> {
    const reply = await this.run('userIndexList', userIndexKey(this.settings.keyPrefix, userId), Date.now());
    return expectStrings(reply, 'userIndexList').flatMap((m) => parseIndexMember(m) ?? []);
  }

  /**
   * Ends the sessions userIndexAdd picked as victims and returns the handles of those that were
   * still alive. Each destroy unlinks its victim; one whose session ended meanwhile (another
   * sign-in evicted it too, a logout) is unlinked here, or it would count against the limit again.
   */
  private async evict(userId: string, victims: string[]): Promise<string[]> {
    const index = userIndexKey(this.settings.keyPrefix, userId);
    const ended = await Promise.all(
      victims.map(async (member) => {
        const parsed = parseIndexMember(member);
        if (parsed && (await this.destroy(parsed.storeId))) return [parsed.handle];
        await this.call(() => this.redis.zrem(index, member));
        return [];
      }),
    );
    return ended.flat();
  }

  private encodeFields(session: NewSession, now: number, size: number): string[] {
    const fields: string[] = [
      META.version, FORMAT_VERSION,
      META.created, String(session.createdAt),
      META.lastAccess, String(now),
      META.deadline, String(session.absoluteDeadline),
      META.handle, session.handle,
      META.size, String(size),
      META.strategy, session.strategy,
    ];
    if (session.userId) fields.push(META.userId, session.userId);
    if (session.userAgent) fields.push(META.userAgent, session.userAgent);
    for (const [key, json] of session.data) fields.push(dataField(key), json);
    return fields;
  }

  private decode(storeId: string, flat: string[]): StoredSession | null {
    // One pass into locals, no map of the metadata: this runs on every read that reaches Redis.
    const data = new Map<string, string>();
    let version: string | undefined, handle: string | undefined, strategy: string | undefined, userId: string | undefined, userAgent: string | undefined;
    let created: number | undefined, lastAccess: number | undefined, deadline: number | undefined, retiredUntil: number | undefined;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const field = flat[i];
      const value = flat[i + 1];
      if (field.startsWith(DATA_PREFIX)) data.set(field.slice(DATA_PREFIX.length), value);
      else if (field === META.version) version = value;
      else if (field === META.created) created = Number(value);
      else if (field === META.lastAccess) lastAccess = Number(value);
      else if (field === META.deadline) deadline = Number(value);
      else if (field === META.handle) handle = value;
      else if (field === META.strategy) strategy = value;
      else if (field === META.userId) userId = value;
      else if (field === META.userAgent) userAgent = value;
      else if (field === META.retiredUntil) retiredUntil = Number(value);
    }
    if (version !== FORMAT_VERSION || !handle || !strategy || !isTime(created) || !isTime(lastAccess) || !isTime(deadline)) {
      this.logger.warn(`Session ${sessionKey(this.settings.keyPrefix, '…')} has unreadable metadata; treated as absent`);
      return null;
    }
    return {
      storeId,
      handle,
      userId: userId ?? null,
      createdAt: created,
      lastAccessAt: lastAccess,
      absoluteDeadline: deadline,
      userAgent: userAgent ?? null,
      strategy,
      data,
      // Always present, undefined on a live session: every decoded record then has one shape.
      retiredUntil,
    };
  }

  private run(name: ScriptName, key: string, ...args: Array<string | number>): Promise<unknown> {
    const runner = (this.redis as unknown as Record<ScriptName, ScriptRunner>)[name];
    return this.call(() => runner.call(this.redis, key, ...args));
  }

  /**
   * Every Redis failure becomes SessionStoreUnavailableError: never a 500, never "no session".
   * A Cluster arms `commandTimeout` only when a command is written to a node; one that is not
   * ready (e.g. every seed refused at startup) keeps commands in its own queue forever, so its
   * calls get a deadline of their own (measured: such requests hung > 8 s without it). So do
   * clients with auto-pipelining, whose outage answers took up to 2 s without it. A plain single
   * connection (standalone, Sentinel) arms the timeout on every command, offline queue included:
   * no second timer per call there (a setTimeout, a Promise and a race on every request).
   */
  private async call<T>(command: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      this.batcher?.hold();
      const reply = command();
      const limit = this.callDeadlineMs;
      if (limit === null) return await reply;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no reply within ${limit} ms`)), limit);
      });
      return await Promise.race([reply, expired]);
    } catch (error) {
      throw error instanceof SessionDataTooLargeError ? error : new SessionStoreUnavailableError(error);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * commandTimeout, for Cluster and auto-pipelining clients (see call); else null. No grace on top:
 * with 1000 requests waiting on a hung Redis, 100 ms more put the slowest 503 at 1.85 s.
 */
function callDeadlineFor(redis: Redis | Cluster): number | null {
  const cluster = (redis as Cluster).isCluster;
  if (!cluster && !(redis as Redis).options.enableAutoPipelining) return null;
  const options = cluster ? (redis as Cluster).options.redisOptions : (redis as Redis).options;
  const timeout = options?.commandTimeout;
  return typeof timeout === 'number' && timeout > 0 ? timeout : null;
}

function writeOutcome(reply: unknown): 'ok' | WriteRefusal {
  const code = Array.isArray(reply) ? Number(reply[0]) : NaN;
  switch (code) {
    case 1: return 'ok';
    case 0: return 'gone';
    case -1: return 'too-large';
    case -2: return 'not-an-integer';
    case -3: return 'replaced';
    default: throw new SessionStoreUnavailableError(`unexpected script reply ${JSON.stringify(reply)}`);
  }
}

/** A script's JSON-encoded reply; anything unreadable is passed on for expectStrings to refuse. */
function parseJsonReply(reply: unknown): unknown {
  if (typeof reply !== 'string') return reply;
  try {
    return JSON.parse(reply) as unknown;
  } catch {
    return reply;
  }
}

function expectStrings(reply: unknown, script: string): string[] {
  if (Array.isArray(reply) && reply.every((v) => typeof v === 'string')) return reply;
  throw new SessionStoreUnavailableError(`unexpected reply from ${script}: ${JSON.stringify(reply)}`);
}

function isTime(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value);
}
