/** Base class of every error the library throws on purpose. */
export class SessionError extends Error {
  override name = this.constructor.name;
}

/** Startup: the module options are invalid. The message lists every problem with its option path. */
export class SessionConfigError extends SessionError {
  constructor(readonly problems: readonly string[]) {
    super(`session: ${problems.join('\nsession: ')}`);
  }
}

/** The store could not answer (Redis down, timed out, read-only, out of memory). Mapped to HTTP 503. */
export class SessionStoreUnavailableError extends SessionError {
  constructor(cause?: unknown) {
    super(`Session store unavailable: ${cause instanceof Error ? cause.message : String(cause ?? 'unknown')}`, {
      cause,
    });
  }
}

/**
 * A session was destroyed (logout, revoke) on the Redis master, or with `durability.writes` signed
 * in or written, but fewer replicas than `durability.replicas` confirmed it within
 * `durability.timeoutMs` (Redis `WAIT`), so a failover could still undo it. Mapped to HTTP 503 with
 * Retry-After; the client gets what the master holds all the same (a sign-out's cookie is cleared,
 * a sign-in's or rotation's credential is sent).
 */
export class SessionDurabilityError extends SessionError {
  constructor(
    readonly acknowledged: number,
    readonly required: number,
    readonly timeoutMs: number,
    cause?: unknown,
    readonly operation: 'sign-out' | 'write' = 'sign-out',
  ) {
    super(
      `${operation === 'sign-out' ? 'Sign-out' : 'Session write'} not confirmed by the Redis replicas ` +
        `(${acknowledged} of ${required} acknowledged within ${timeoutMs} ms): ` +
        (operation === 'sign-out'
          ? 'the session is deleted on the master, but a failover now could bring it back'
          : 'it is saved on the master, but a failover now could lose it'),
      { cause },
    );
  }
}

/** A write would take the session's data over `maxDataBytes`. Mapped to HTTP 413; nothing was written. */
export class SessionDataTooLargeError extends SessionError {
  constructor(
    readonly key: string,
    readonly limitBytes: number,
  ) {
    super(`Session data too large: writing "${key}" would exceed maxDataBytes (${limitBytes} bytes)`);
  }
}

/** The app wrote a value the session cannot hold (not JSON-serialisable, bad key, non-integer increment). */
export class SessionDataError extends SessionError {}

/** The session was destroyed (logout, revoke, expiry) while this request was using it. */
export class SessionGoneError extends SessionError {
  constructor() {
    super('The session ended while this request was running; its changes were not saved');
  }
}

/**
 * The request carried the credential of a session that a sign-in or `regenerate()` replaced
 * moments ago (within `rotationGraceMs`): such a request may read that session, as it was, but
 * not change, rotate or end it. Mapped to HTTP 409; the client retries with the new credential.
 */
export class SessionReplacedError extends SessionError {
  constructor() {
    super('This session was replaced moments ago (a sign-in or regenerate()): it can be read but not changed; retry with the new credential');
  }
}

/** The request needs a signed-in session (e.g. the jwt strategy cannot hold a guest session). Mapped to 401. */
export class SessionSignInRequiredError extends SessionError {}

/** Misuse of the library by the application, with the fix in the message. */
export class SessionUsageError extends SessionError {}
