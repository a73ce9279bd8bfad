import { SessionDataTooLargeError, SessionGoneError } from '../session.errors.js';
import { REVOKED_MARK_TTL_MS, dataField, fieldCost } from './redis-schema.js';
import { applyDelta, dataBytes, largestKey } from './session-data.util.js';
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
} from './session-store.interface.js';
import type { ExpiredSession, SessionExpirySource } from './session-expiry.interface.js';

interface Entry {
  session: StoredSession;
  lastAccessAt: number;
  data: Map<string, string>;
  /** Set once a rotation retired the session: read-only until then (see SessionStore.rotate). */
  retiredUntil?: number;
  /** The session this one retired when it was rotated in: it ends with this one. */
  previous?: string;
}

const SWEEP_EVERY_MS = 60_000;

/**
 * In-process store with the same semantics as RedisSessionStore, for zero-setup demos and for
 * users' unit tests. It is not shared between processes, so it is not for production clusters.
 */
export class MemorySessionStore implements SessionStore, SessionExpirySource {
  private readonly sessions = new Map<string, Entry>();
  /** userId -> (storeId -> handle), oldest first by insertion. */
  private readonly users = new Map<string, Map<string, string>>();
  /** userId -> when "sign out everywhere" last ran (epoch ms) and the session it kept; see NewSession.notRevokedSince. */
  private readonly revokedAt = new Map<string, { at: number; kept: string | null }>();
  private readonly sweeper: NodeJS.Timeout;
  /** Sessions found expired and not yet reported by sweepExpired (only with `expiryEvents`). */
  private readonly expired: ExpiredSession[] = [];

  constructor(private readonly settings: StoreSettings) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  async find(storeId: string): Promise<StoredSession | null> {
    const entry = this.live(storeId);
    if (!entry) return null;
    const now = Date.now();
    if (entry.retiredUntil === undefined && now - entry.lastAccessAt >= this.settings.touchAfterMs) entry.lastAccessAt = now;
    return this.snapshot(entry);
  }

  async create(session: NewSession): Promise<SessionWritten> {
    if (dataBytes(session.data) > this.settings.maxDataBytes) {
      throw new SessionDataTooLargeError(largestKey(session.data), this.settings.maxDataBytes);
    }
    if (this.revokedSince(session.userId, session.notRevokedSince)) throw new SessionGoneError();
    this.insert(session);
    return { evicted: this.evictOverLimit(session) };
  }

  async commit(storeId: string, delta: SessionDelta): Promise<'ok' | WriteRefusal> {
    const entry = this.live(storeId);
    if (!entry) return 'gone';
    if (entry.retiredUntil !== undefined) return 'replaced';
    const data = applyDelta(entry.data, delta);
    if (dataBytes(data) > this.settings.maxDataBytes) return 'too-large';
    entry.data = data;
    entry.lastAccessAt = Date.now();
    return 'ok';
  }

  async increment(storeId: string, key: string, by: number): Promise<number | WriteRefusal> {
    // Refused past 2^53 in both stores: beyond it a number no longer holds every integer.
    if (!Number.isSafeInteger(by)) return 'not-an-integer';
    const entry = this.live(storeId);
    if (!entry) return 'gone';
    if (entry.retiredUntil !== undefined) return 'replaced';
    const old = entry.data.get(key);
    if (old !== undefined && !/^-?\d+$/.test(old)) return 'not-an-integer';
    const before = Number(old ?? '0');
    if (!Number.isSafeInteger(before) || !Number.isSafeInteger(before + by)) return 'not-an-integer';
    const text = String(before + by);
    const size = dataBytes(entry.data) - (old === undefined ? 0 : fieldCost(dataField(key), old));
    if (size + fieldCost(dataField(key), text) > this.settings.maxDataBytes) return 'too-large';
    entry.data.set(key, text);
    entry.lastAccessAt = Date.now();
    return Number(text);
  }

  async rotate(fromStoreId: string, to: RotationTarget, delta: SessionDelta): Promise<RotationOutcome> {
    const entry = this.live(fromStoreId);
    if (!entry || this.revokedSince(to.userId, to.notRevokedSince, entry.session.handle)) return 'gone';
    if (entry.retiredUntil !== undefined) return 'replaced';
    const data = applyDelta(entry.data, delta);
    if (dataBytes(data) > this.settings.maxDataBytes) return 'too-large';
    const sameUser = entry.session.userId !== null && entry.session.userId === to.userId;
    const next: NewSession = { ...entry.session, ...to, data };
    const graceMs = this.settings.rotationGraceMs ?? 0;
    this.insert(next, graceMs > 0 ? fromStoreId : undefined);
    if (graceMs > 0) this.retire(fromStoreId, entry, Date.now() + graceMs);
    else await this.destroy(fromStoreId);
    return { evicted: sameUser ? [] : this.evictOverLimit(next) };
  }

  async destroy(storeId: string): Promise<boolean> {
    const entry = this.sessions.get(storeId);
    if (!entry) return false;
    this.sessions.delete(storeId);
    if (entry.session.userId) this.users.get(entry.session.userId)?.delete(storeId);
    if (entry.previous) this.sessions.delete(entry.previous);
    return entry.lastAccessAt + this.settings.idleMs > Date.now() && entry.session.absoluteDeadline > Date.now();
  }

  async listForUser(userId: string): Promise<SessionInfo[]> {
    const infos: SessionInfo[] = [];
    for (const storeId of [...(this.users.get(userId)?.keys() ?? [])]) {
      const entry = this.live(storeId);
      if (!entry) continue;
      const { handle, createdAt, absoluteDeadline, userAgent } = entry.session;
      const expiresAt = Math.min(entry.lastAccessAt + this.settings.idleMs, absoluteDeadline);
      infos.push({ handle, userId, createdAt, lastAccessAt: entry.lastAccessAt, expiresAt, userAgent });
    }
    return infos.sort((a, b) => a.createdAt - b.createdAt);
  }

  async destroyByHandle(userId: string, handle: string): Promise<boolean> {
    for (const [storeId, h] of this.users.get(userId) ?? []) {
      if (h === handle) return this.destroy(storeId);
    }
    return false;
  }

  async destroyAllForUser(userId: string, exceptHandle?: string): Promise<number> {
    this.revokedAt.set(userId, { at: Date.now(), kept: exceptHandle ?? null });
    let count = 0;
    for (const [storeId, handle] of [...(this.users.get(userId) ?? [])]) {
      if (handle !== exceptHandle && (await this.destroy(storeId))) count++;
    }
    return count;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  /** Reports sessions that expired since the last call (`expiryEvents`); each once. */
  async sweepExpired(limit: number): Promise<ExpiredSession[]> {
    this.sweep();
    return this.expired.splice(0, limit);
  }

  /** Stops the background sweeper (the store is otherwise garbage-collected with its owner). */
  close(): void {
    clearInterval(this.sweeper);
  }

  /** See RedisSessionStore.revokedSince. */
  private revokedSince(userId: string | null, since: number | undefined, ownHandle?: string): boolean {
    const mark = userId === null || since === undefined ? undefined : this.revokedAt.get(userId);
    if (mark === undefined || mark.at < since! || Date.now() - mark.at >= REVOKED_MARK_TTL_MS) return false;
    return ownHandle === undefined || mark.kept !== ownHandle;
  }

  private insert(session: NewSession, previous?: string): void {
    const now = Date.now();
    const stored: StoredSession = { ...session, lastAccessAt: now };
    this.sessions.set(session.storeId, { session: stored, lastAccessAt: now, data: new Map(session.data), previous });
    if (session.userId) {
      const index = this.users.get(session.userId) ?? new Map<string, string>();
      index.set(session.storeId, session.handle);
      this.users.set(session.userId, index);
    }
  }

  /** Unlisted and read-only until `until`; the session it had retired itself ends now (one per live session). */
  private retire(storeId: string, entry: Entry, until: number): void {
    entry.retiredUntil = until;
    if (entry.session.userId) this.users.get(entry.session.userId)?.delete(storeId);
    if (entry.previous) this.sessions.delete(entry.previous);
    entry.previous = undefined;
  }

  /** Evicts the user's oldest sessions beyond maxSessionsPerUser, never the one just added. */
  private evictOverLimit(added: NewSession): string[] {
    const max = this.settings.maxSessionsPerUser;
    if (!max || !added.userId) return [];
    const live = [...(this.users.get(added.userId)?.keys() ?? [])]
      .map((id) => this.live(id))
      .filter((e): e is Entry => e !== null)
      .sort((a, b) => a.session.absoluteDeadline - b.session.absoluteDeadline);
    const victims = live.filter((e) => e.session.storeId !== added.storeId).slice(0, Math.max(0, live.length - max));
    for (const victim of victims) void this.destroy(victim.session.storeId);
    return victims.map((v) => v.session.handle);
  }

  private live(storeId: string): Entry | null {
    const entry = this.sessions.get(storeId);
    if (!entry) return null;
    const now = Date.now();
    if (entry.retiredUntil !== undefined && now >= entry.retiredUntil) {
      // Its grace is over: it ends quietly, as a rotated-away session does without a grace.
      this.sessions.delete(storeId);
      return null;
    }
    if (now >= entry.session.absoluteDeadline || now >= entry.lastAccessAt + this.settings.idleMs) {
      if (this.settings.expiryEvents && entry.retiredUntil === undefined) {
        const { handle, userId, absoluteDeadline } = entry.session;
        this.expired.push({ handle, userId, reason: entry.lastAccessAt + this.settings.idleMs >= absoluteDeadline ? 'absolute' : 'idle' });
      }
      void this.destroy(storeId);
      return null;
    }
    return entry;
  }

  private snapshot(entry: Entry): StoredSession {
    return { ...entry.session, lastAccessAt: entry.lastAccessAt, data: new Map(entry.data), retiredUntil: entry.retiredUntil };
  }

  private sweep(): void {
    for (const storeId of [...this.sessions.keys()]) this.live(storeId);
    for (const [userId, mark] of this.revokedAt) if (Date.now() - mark.at >= REVOKED_MARK_TTL_MS) this.revokedAt.delete(userId);
  }
}
