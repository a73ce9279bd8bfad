/**
 * Lifecycle events, emitted through `@nestjs/event-emitter` when the app imports
 * `EventEmitterModule.forRoot()` (nothing is emitted otherwise). Payloads carry the session's handle
 * (`id`, the non-secret id `UserSession.id` shows), never a credential.
 * @example @OnEvent(SESSION_EVENTS.expired) onExpired(event: SessionExpiredEvent) {}
 */
export const SESSION_EVENTS = {
  /** A session was stored for the first time: a guest's first write, a sign-in, `SessionService.create`. */
  created: 'session.created',
  /** A session moved to a new id and credential (`logIn`, `regenerate`); `previousId` names the old one. */
  rotated: 'session.rotated',
  /** A request ended its own session: `destroy()` (logout), or a sign-in of another user replaced it. */
  destroyed: 'session.destroyed',
  /** A session was ended from outside: `SessionService.destroy/destroyById/destroyAllForUser`, or evicted by `maxSessionsPerUser`. */
  revoked: 'session.revoked',
  /** The expiry sweeper found the session past its idle or absolute deadline (`expiryEvents` on). */
  expired: 'session.expired',
} as const;

export type SessionEventName = (typeof SESSION_EVENTS)[keyof typeof SESSION_EVENTS];

/** What every event says about its session. */
export interface SessionEventBase {
  /** The session's handle: safe to log, show and compare with `UserSession.id`; not a credential. */
  readonly id: string;
  /** Null for a guest session. */
  readonly userId: string | null;
  /** When the library emitted the event (epoch ms). */
  readonly at: number;
}

export interface SessionCreatedEvent extends SessionEventBase {
  /** The strategy that issued the credential ('session-id', 'jwt', 'hashed' or a custom name). */
  readonly strategy: string;
}

export interface SessionRotatedEvent extends SessionEventBase {
  /** The handle the session had before; it no longer names a session. */
  readonly previousId: string;
  readonly strategy: string;
}

export interface SessionDestroyedEvent extends SessionEventBase {
  /** 'logout': `session.destroy()`; 'replaced': another user signed in on this session. */
  readonly reason: 'logout' | 'replaced';
}

export interface SessionRevokedEvent extends SessionEventBase {
  /** 'token': `destroy(token)`; 'id': `destroyById`; 'all': `destroyAllForUser`; 'limit': `maxSessionsPerUser` eviction. */
  readonly reason: 'token' | 'id' | 'all' | 'limit';
}

export interface SessionExpiredEvent extends SessionEventBase {
  /** Which deadline ended it. */
  readonly reason: 'idle' | 'absolute';
}

/** Event name -> payload, for typed listeners. */
export interface SessionEventMap {
  'session.created': SessionCreatedEvent;
  'session.rotated': SessionRotatedEvent;
  'session.destroyed': SessionDestroyedEvent;
  'session.revoked': SessionRevokedEvent;
  'session.expired': SessionExpiredEvent;
}
