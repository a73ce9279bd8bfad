import { randomToken } from './crypto.util.js';
import { SessionDataError, SessionDataTooLargeError, SessionGoneError, SessionReplacedError, SessionUsageError } from './session.errors.js';
import { SessionState } from './session-state.js';
import { dataField, fieldCost } from './store/redis-schema.js';
import { CREDENTIAL_BYTES, USER_ID } from './strategies/credential-shape.js';

/** @internal The state behind a UserSession, for the commit step. */
export function sessionState(session: object): SessionState {
  if (!(session instanceof UserSession)) throw new SessionUsageError('Not a session created by SessionGuard');
  return UserSession.stateOf(session);
}

export const newHandle = (): string => randomToken(CREDENTIAL_BYTES.handle);

/** No control characters, and no lone surrogate halves (two of them would be one Redis field: see USER_ID). */
const KEY_PATTERN = /^[^\p{Cc}\p{Cs}]{1,200}$/u;

/** Keys of T that name data (the generic's string keys). */
export type SessionKey<T> = Extract<keyof T, string>;

/**
 * The session of the current request, typed by the app's data shape `T`.
 * Changes are collected during the request and saved before the response is sent, as one delta
 * (only the keys that changed). `increment` is applied atomically in the store at once.
 */
export class UserSession<T extends object = Record<string, unknown>> {
  // A #private field: invisible to the app (logging, JSON, spreading) like a WeakMap entry, and
  // cheaper on a path that builds one UserSession per request.
  readonly #state: SessionState;

  constructor(state: SessionState) {
    this.#state = state;
  }

  /** @internal */
  static stateOf(session: UserSession<object>): SessionState {
    return session.#state;
  }

  private get state(): SessionState {
    return this.#state;
  }

  /** A non-secret identifier of the session (its handle), safe to log or show. Not the credential. */
  get id(): string {
    // After logIn()/regenerate() the session's id is the new one, saved at the end of the request.
    return this.state.rotateTo?.handle ?? this.state.handle;
  }

  get userId(): string | null {
    return this.state.userId;
  }

  get createdAt(): Date {
    return new Date(this.state.createdAt);
  }

  /** When the session ends if no further request comes: the earlier of the idle and absolute deadlines. */
  get expiresAt(): Date {
    const { lastAccessAt, absoluteDeadline, backend } = this.state;
    return new Date(Math.min(lastAccessAt + backend.options.idleMs, absoluteDeadline));
  }

  /** True until the session has been saved to the store once. */
  get isNew(): boolean {
    return this.state.storeId === null;
  }

  /**
   * The credential issued to the client in this request (after `logIn()` or `regenerate()`), for
   * apps that return it in the response body (bearer JWTs, header transports). Otherwise undefined.
   */
  get token(): string | undefined {
    return this.state.rotateTo?.credential;
  }

  get<K extends SessionKey<T>>(key: K): T[K] | undefined {
    const json = this.state.values.get(key);
    if (json === undefined) return undefined;
    try {
      return JSON.parse(json) as T[K];
    } catch {
      // One corrupt field must not break every later request: drop it and log.
      const state = this.state;
      state.backend.logger.warn(`Dropped undecodable session field "${key}"`);
      state.editValues().delete(key);
      if (!state.destroyed && !state.committed) state.pendDelete(key);
      return undefined;
    }
  }

  has(key: SessionKey<T>): boolean {
    return this.state.values.has(key);
  }

  keys(): Array<SessionKey<T>> {
    return [...this.state.values.keys()] as Array<SessionKey<T>>;
  }

  set<K extends SessionKey<T>>(key: K, value: T[K]): void {
    const state = this.writable();
    checkKey(key);
    const json = encode(key, value);
    if (state.values.get(key) === json && !state.removals.has(key)) return; // unchanged: nothing to write
    if (fieldCost(dataField(key), json) > state.backend.options.maxDataBytes) {
      throw new SessionDataTooLargeError(key, state.backend.options.maxDataBytes);
    }
    state.editValues().set(key, json);
    state.pendSet(key, json);
  }

  delete(key: SessionKey<T>): void {
    const state = this.writable();
    checkKey(key);
    state.editValues().delete(key);
    state.pendDelete(key);
  }

  /** Adds `by` to an integer value atomically across servers and returns the new value. */
  async increment(key: SessionKey<T>, by = 1): Promise<number> {
    const state = this.writable();
    checkKey(key);
    if (!Number.isSafeInteger(by)) throw new SessionDataError(`increment("${key}") needs a safe integer step (got ${by})`);
    const pendingHere = state.changes.has(key) || state.removals.has(key);
    if (state.storeId === null || state.rotateTo !== null || pendingHere) {
      // Not in the store yet (or rewritten in this request): the value is ours alone until commit.
      const current = this.get(key as SessionKey<T>) ?? 0;
      if (typeof current !== 'number' || !Number.isInteger(current)) throw notInteger(key);
      this.set(key as SessionKey<T>, (current + by) as T[SessionKey<T>]);
      return current + by;
    }
    const result = await state.backend.store.increment(state.storeId, key, by);
    if (result === 'not-an-integer') throw notInteger(key);
    if (result === 'too-large') throw new SessionDataTooLargeError(key, state.backend.options.maxDataBytes);
    if (result === 'gone') throw new SessionGoneError();
    if (result === 'replaced') throw new SessionReplacedError();
    state.editValues().set(key, String(result));
    return result;
  }

  /**
   * Moves the session to a new id (and credential), keeping its data and absolute deadline. The old
   * credential reads the old session, read-only, for `rotationGraceMs`, then stops working.
   */
  async regenerate(): Promise<void> {
    const state = this.writable();
    const minted = await state.strategy.mint(state.userId, state.absoluteDeadline);
    state.rotateTo = { storeId: minted.storeId, handle: newHandle(), credential: minted.credential };
  }

  /**
   * Signs a user in: a guest session or one of the same user is rotated (data kept, e.g. a cart);
   * a session of another user is destroyed and a fresh one started. The old credential stops working:
   * after a rotation, only once `rotationGraceMs` is over, until when it reads the old session as it
   * was, read-only (requests that were in flight during the sign-in).
   */
  async logIn(userId: string): Promise<void> {
    const state = this.writable();
    if (typeof userId !== 'string' || !USER_ID.test(userId)) {
      throw new SessionDataError('logIn(userId) needs 1-128 printable characters without braces or spaces');
    }
    if (state.userId !== null && state.userId !== userId) state.reset();
    state.userId = userId;
    await this.regenerate();
  }

  /**
   * Ends the session: it is deleted before the response is sent and the credential is cleared.
   * Throws `SessionReplacedError` (409) for a session a rotation replaced moments ago.
   */
  destroy(): void {
    const state = this.state;
    if (state.retired) throw new SessionReplacedError();
    state.destroyed = true;
  }

  /**
   * True when the request came with a credential a sign-in or `regenerate()` replaced moments ago
   * (within `rotationGraceMs`): the session reads as it was then, and every change throws
   * `SessionReplacedError` (409).
   */
  get isReplaced(): boolean {
    return this.state.retired;
  }

  private writable(): SessionState {
    const state = this.state;
    if (state.retired) throw new SessionReplacedError();
    if (state.destroyed) throw new SessionUsageError('This session was destroyed earlier in the request');
    if (state.committed) throw new SessionUsageError('This session was already saved; change it before the response is sent');
    return state;
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new SessionDataError(`Session keys must be 1-200 characters without control characters or lone surrogates (got ${JSON.stringify(key)})`);
  }
}

/**
 * Built-ins that JSON turns into something else without a word: `{}` for a Map, Set, Error, RegExp
 * or Promise (their state is not in own enumerable properties), an index-keyed object for a typed
 * array. A class instance of the app's own is kept: it is stored as its own enumerable properties,
 * which is what JSON means for it (a `toJSON` method is honoured).
 */
const MANGLED_BY_JSON = new Set(['Map', 'Set', 'WeakMap', 'WeakSet', 'Error', 'RegExp', 'Promise', 'ArrayBuffer', 'SharedArrayBuffer']);

function encode(key: string, value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value, function (this: unknown, k: string, v: unknown) {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${v} is not representable in JSON`);
      if (typeof v === 'bigint') throw new Error('a bigint is not representable in JSON');
      // JSON.stringify would drop these silently ({} for a Map or Set, a missing property, null
      // in a list): the app would read back something else than it stored.
      if (typeof v === 'function' || typeof v === 'symbol') throw new Error(`a ${typeof v} is not representable in JSON`);
      if (v === undefined && Array.isArray(this)) throw new Error('undefined in a list is not representable in JSON');
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        const tag = Object.prototype.toString.call(v).slice(8, -1);
        if (MANGLED_BY_JSON.has(tag) || ArrayBuffer.isView(v)) throw new Error(`a ${tag} is not representable in JSON`);
      }
      return v;
    });
  } catch (error) {
    throw new SessionDataError(`Session value for "${key}" cannot be stored: ${(error as Error).message}`);
  }
  if (json === undefined) {
    throw new SessionDataError(`Session value for "${key}" cannot be stored: use delete() instead of undefined`);
  }
  return json;
}

const notInteger = (key: string): SessionDataError =>
  new SessionDataError(`increment("${key}") needs the stored value to be an integer`);
