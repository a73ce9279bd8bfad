import type { SessionDurabilityError } from '../session.errors.js';
import type { ExpiryTrackingSettings } from './session-expiry.interface.js';
import type { MaybePromise } from '../maybe-promise.js';

/**
 * What a store keeps for one session. `data` holds the JSON text of each data key as stored, so a
 * store never parses app data and a corrupt value can be dropped by the caller, key by key.
 */
export interface StoredSession {
  /** The id the store is keyed by: the session id, or the SHA-256 of a hashed-strategy secret. */
  readonly storeId: string;
  /** A non-secret random name for the session, safe to show and to use in URLs. */
  readonly handle: string;
  readonly userId: string | null;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly lastAccessAt: number;
  /** The absolute deadline (epoch ms): the session ends then whatever the activity. */
  readonly absoluteDeadline: number;
  readonly userAgent: string | null;
  /** The strategy that issued the session's credential; only that strategy may load it. */
  readonly strategy: string;
  /** Data key -> JSON text. */
  readonly data: ReadonlyMap<string, string>;
  /**
   * Set on a session a rotation replaced (epoch ms): it is read-only and ends then. Until that time
   * requests still in flight with the old credential are served its data, not refused as forged.
   */
  readonly retiredUntil?: number;
}

/** A session's public description, as listed for its user (never contains the credential). */
export interface SessionInfo {
  readonly handle: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly lastAccessAt: number;
  readonly expiresAt: number;
  readonly userAgent: string | null;
}

/** A change to a live session: data keys to set (JSON text) and data keys to delete. */
export interface SessionDelta {
  readonly set: ReadonlyMap<string, string>;
  readonly delete: ReadonlySet<string>;
}

export interface NewSession {
  readonly storeId: string;
  readonly handle: string;
  readonly userId: string | null;
  readonly createdAt: number;
  readonly absoluteDeadline: number;
  readonly userAgent: string | null;
  readonly strategy: string;
  readonly data: ReadonlyMap<string, string>;
  /**
   * When the request that signs the user in started (epoch ms). If "sign out everywhere" ran for
   * the user at or after that time, the new session is refused ('gone'): a login that was under
   * way when the user revoked everything must not survive it. Absent: no check.
   */
  readonly notRevokedSince?: number;
}

/** The new identity a session gets on rotation. */
export interface RotationTarget {
  readonly storeId: string;
  readonly handle: string;
  readonly userId: string | null;
  readonly strategy: string;
  /** See NewSession.notRevokedSince. */
  readonly notRevokedSince?: number;
}

/**
 * What `commit`, `increment` and `rotate` report when they could not apply the change. 'replaced':
 * a rotation retired the session (see `StoredSession.retiredUntil`).
 */
export type WriteRefusal = 'gone' | 'replaced' | 'too-large' | 'not-an-integer';

/**
 * What `create` and a successful `rotate` report: the handles of the user's sessions evicted by
 * `maxSessionsPerUser`, and with `durability.writes` the error to report when the replicas did not
 * confirm the write (it happened on the master all the same, so the new credential must still go
 * out, and the evicted sessions are gone).
 */
export interface SessionWritten {
  readonly evicted: string[];
  readonly unconfirmed?: SessionDurabilityError;
}

/**
 * A sign-in rotation refused after it had evicted the user's oldest sessions (maxSessionsPerUser):
 * a logout, a revoke or a concurrent rotation ended the old session between the two steps. The
 * evicted sessions stay gone (they were ended before the old one was retired, so that a failure
 * there could still give the old session back) and are reported like a successful sign-in's.
 */
export interface RotationRefused {
  readonly refused: 'gone' | 'replaced';
  readonly evicted: string[];
}

/** What `rotate` reports: done, or refused (see WriteRefusal), with the sessions evicted before the refusal if any. */
export type RotationOutcome = SessionWritten | RotationRefused | 'gone' | 'replaced' | 'too-large';

/**
 * The storage contract, shared by the Redis and the memory store and proved by one test suite
 * against both. Timings come from the store's own clock (`Date.now()`).
 *
 * - "Not found" is `null` or `false`, never an error; an error always means the store could not
 *   answer and is a `SessionStoreUnavailableError`, never "no session".
 * - A session expires at `min(lastAccess + idle, absoluteDeadline)`; an expired one is absent.
 * - No operation ever recreates a destroyed or expired session.
 */
export interface SessionStore {
  /**
   * Loads a live session and slides its idle expiry, writing at most once per `touchAfter`.
   * One round trip on Redis. May answer synchronously (a near-cache hit): every request runs it.
   */
  find(storeId: string): MaybePromise<StoredSession | null>;
  /**
   * Creates a session (and links it to its user). Throws `SessionDataTooLargeError` when the data
   * is over the limit.
   */
  create(session: NewSession): Promise<SessionWritten>;
  /**
   * Applies a delta to a live session. Writes nothing for an empty delta except the touch. With
   * `durability.writes`, this and `increment` throw `SessionDurabilityError` after a write the
   * replicas did not confirm.
   */
  commit(storeId: string, delta: SessionDelta): Promise<'ok' | WriteRefusal>;
  /**
   * Adds `by` to an integer data key atomically and returns the new value. 'not-an-integer' when the
   * stored value is not an integer, or when it, `by` or the sum is beyond Number.MAX_SAFE_INTEGER.
   */
  increment(storeId: string, key: string, by: number): Promise<number | WriteRefusal>;
  /**
   * Moves a live session to a new id: the new session keeps `createdAt` and the absolute deadline,
   * gets the delta applied, and the old id stops working: at once without `rotationGraceMs`, else
   * it is retired (read-only, unlisted, slid no more) until the grace ends, and ends earlier with
   * the new session (destroyed, revoked, rotated again). Safe on Cluster (no RENAME: create the new
   * key, then retire or delete the old one). Returns 'gone' when the old session no longer exists,
   * 'replaced' when it was retired already (a concurrent rotation won). A rotation into another
   * user (a sign-in) evicts as `create` does; one that fails after it evicted rejects with an error
   * that carries the evicted handles (store/evicted-before-failure.ts), so they are still reported.
   */
  rotate(fromStoreId: string, to: RotationTarget, delta: SessionDelta): Promise<RotationOutcome>;
  /**
   * Deletes a session and unlinks it from its user. Returns whether it existed. With
   * `{ durable: true }` and `durability` configured, a deletion that fewer replicas confirmed
   * throws `SessionDurabilityError` (after deleting and unlinking).
   */
  destroy(storeId: string, options?: { durable?: boolean }): Promise<boolean>;
  /** The user's live sessions, oldest first; stale index entries are pruned on the way. */
  listForUser(userId: string): Promise<SessionInfo[]>;
  /** Destroys the user's session with this handle (durably, see `destroy`). Returns whether one was found. */
  destroyByHandle(userId: string, handle: string): Promise<boolean>;
  /** Destroys every session of the user except the one with `exceptHandle` (durably); returns how many. */
  destroyAllForUser(userId: string, exceptHandle?: string): Promise<number>;
  /** Answers whether the store is reachable (a bounded PING for Redis). */
  ping(): Promise<boolean>;
}

/** Injection token of the active store (same name as the interface: one import for both). */
export const SessionStore = Symbol('nestjs-redis-session:store');

/** Redis `WAIT` after durable destroys (and after writes, with `writes`). */
export interface DurabilitySettings {
  readonly replicas: number;
  readonly timeoutMs: number;
  /** Also after sign-ins, rotations and session writes (standalone and Sentinel only). */
  readonly writes?: boolean;
}

/** The store settings derived from the module options. */
export interface StoreSettings {
  readonly keyPrefix: string;
  readonly idleMs: number;
  readonly touchAfterMs: number;
  readonly maxDataBytes: number;
  readonly maxSessionsPerUser: number | null;
  /** Track deadlines so expired sessions can be reported (`expiryEvents`); absent or null: off. */
  readonly expiryEvents?: ExpiryTrackingSettings | null;
  /** `WAIT` after durable destroys, and after writes with `writes` (Redis only); absent or null: off. */
  readonly durability?: DurabilitySettings | null;
  /** One socket write per connection and event-loop turn (see TurnWriteBatcher); absent: on. */
  readonly batchWrites?: boolean;
  /** How long a rotated-away session stays readable (see `rotate`); absent or 0: not at all. */
  readonly rotationGraceMs?: number;
}
