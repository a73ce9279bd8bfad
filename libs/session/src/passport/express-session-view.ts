import { sessionState, type UserSession } from '../user-session.js';

type Callback = (error?: unknown) => void;

/**
 * `req.session` as express-session shapes it, backed by a UserSession: what passport's session
 * manager and strategy use (`regenerate(cb)`, `save(cb)`, `req.session.passport`), plus plain
 * property access to session data (`req.session.views = 3`).
 */
export interface ExpressSessionView {
  /** The session's handle (not the credential). */
  readonly id: string;
  regenerate(callback: Callback): void;
  save(callback?: Callback): void;
  destroy(callback?: Callback): void;
  reload(callback: Callback): void;
  touch(): void;
  [key: string]: unknown;
}

/** The view plus the step that applies passport's login state to the session. */
export interface PassportSessionView extends ExpressSessionView {
  /** Writes changed values back; signs the session in, rotates it, or ends it as passport's data says. */
  sync(): Promise<void>;
}

const RESERVED = new Set(['id', 'regenerate', 'save', 'destroy', 'reload', 'touch', 'sync', 'cookie']);

/**
 * Builds the view. Values read through it are cached, so nested changes (`req.session.passport.user
 * = x`, as passport writes) are saved by `save()` / `sync()`; top-level assignments are written at once.
 *
 * Passport's login is `regenerate` + set `passport.user` + `save`; sync() turns it into
 * `session.logIn(userIdOf(user))`, which rotates the id (a new credential, so no fixation) and, like
 * every logIn, keeps a guest's data but starts afresh when another user was signed in. Passport's
 * logout (clear `passport.user` + `save` + `regenerate`) destroys the session.
 */
export function passportSessionView(
  session: UserSession<Record<string, unknown>>,
  userIdOf: (serialized: unknown) => string,
  passportKey = 'passport',
): PassportSessionView {
  const cache = new Map<string, unknown>();
  let regenerateRequested = false;
  const ended = (): boolean => sessionState(session).destroyed;
  const read = (key: string): unknown => {
    if (!cache.has(key)) cache.set(key, session.get(key));
    return cache.get(key);
  };
  const writeBack = (): void => {
    for (const [key, value] of cache) {
      if (value === undefined) continue;
      if (JSON.stringify(value) !== JSON.stringify(session.get(key))) session.set(key, value);
    }
  };

  async function sync(): Promise<void> {
    if (ended()) return;
    const user = (read(passportKey) as { user?: unknown } | undefined)?.user;
    if (user !== undefined && user !== null) {
      const userId = userIdOf(user);
      if (userId !== session.userId || regenerateRequested) await session.logIn(userId);
    } else if (session.userId !== null) {
      cache.clear();
      session.destroy();
      return;
    } else if (regenerateRequested) {
      await session.regenerate();
    }
    regenerateRequested = false;
    writeBack();
  }

  const later = (callback: Callback | undefined, error?: unknown): void => {
    if (callback) queueMicrotask(() => callback(error));
  };
  const methods: Record<string, unknown> = {
    regenerate: (callback: Callback) => {
      // Like express-session, what was read before belongs to the old session; the new identity is
      // decided at save(), once passport has written its user.
      cache.clear();
      if (!ended()) regenerateRequested = true;
      later(callback);
    },
    save: (callback?: Callback) => void sync().then(() => later(callback), (error: unknown) => later(callback, error)),
    destroy: (callback?: Callback) => {
      cache.clear();
      if (!ended()) session.destroy();
      later(callback);
    },
    reload: (callback: Callback) => {
      cache.clear();
      later(callback);
    },
    touch: () => undefined,
    sync,
  };

  return new Proxy(methods, {
    get(target, property) {
      if (typeof property === 'symbol') return Reflect.get(target, property);
      if (property === 'id') return session.id;
      if (property === 'cookie') return {};
      return RESERVED.has(property) ? target[property] : read(property);
    },
    set(_target, property, value) {
      if (typeof property === 'symbol' || RESERVED.has(property)) return property === 'cookie';
      cache.set(property, value);
      if (value === undefined) {
        if (session.has(property)) session.delete(property);
      } else if (JSON.stringify(value) !== JSON.stringify(session.get(property))) {
        session.set(property, value);
      }
      return true;
    },
    deleteProperty(_target, property) {
      if (typeof property === 'symbol' || RESERVED.has(property)) return false;
      cache.delete(property);
      if (session.has(property)) session.delete(property);
      return true;
    },
    has(_target, property) {
      return typeof property === 'string' && (RESERVED.has(property) || session.has(property) || cache.has(property));
    },
    ownKeys() {
      return [...new Set([...session.keys(), ...[...cache].filter(([, v]) => v !== undefined).map(([k]) => k)])];
    },
    getOwnPropertyDescriptor(_target, property) {
      if (typeof property !== 'string' || RESERVED.has(property)) return undefined;
      const value = read(property);
      return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
    },
  }) as unknown as PassportSessionView;
}
