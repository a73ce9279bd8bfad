import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { SessionLifecycle } from './events/session-lifecycle.js';
import type { SessionRequest } from './http/http-message.js';
import { SESSION_RESOLVED_OPTIONS } from './session.internal-constants.js';
import type { ResolvedSessionOptions } from './options/resolved-options.js';
import { SessionState, type SessionBackend } from './session-state.js';
import { isPromise, type MaybePromise } from './maybe-promise.js';
import { SessionStore, type StoredSession } from './store/session-store.interface.js';
import { SessionStrategy, type CredentialCheck } from './strategies/session-strategy.interface.js';
import { newHandle, UserSession } from './user-session.js';

/**
 * Whether `stored` is the session `check` may open: only the strategy that issued a session accepts
 * it (a JWT's sid is not a cookie id), and a retired one only until its grace ends, whatever the
 * store still holds. The one rule for requests and for SessionService.
 */
export function acceptable(strategy: SessionStrategy, check: CredentialCheck & { kind: 'valid' }, stored: StoredSession | null): stored is StoredSession {
  if (!stored || stored.strategy !== strategy.name || !strategy.accepts(stored, check)) return false;
  return stored.retiredUntil === undefined || Date.now() < stored.retiredUntil;
}

/** What the request carried: nothing, a credential we refused, or a live session. */
export type LoadOutcome =
  | { kind: 'none' }
  | { kind: 'rejected'; strategy: SessionStrategy; reason: string }
  | { kind: 'loaded'; session: UserSession<object> };

const USER_AGENT_MAX = 256;

function refusedBy(strategy: SessionStrategy, check: CredentialCheck, earlier: LoadOutcome | null): LoadOutcome | null {
  return earlier ?? (check.kind === 'invalid' ? { kind: 'rejected', strategy, reason: check.reason } : null);
}
const NO_CREDENTIAL: LoadOutcome = Object.freeze({ kind: 'none' });

/** Turns a request's credential into a live UserSession: one store round trip at most. */
@Injectable()
export class SessionLoader implements SessionBackend {
  readonly logger = new Logger('Session');
  readonly issuer: SessionStrategy;
  /**
   * The store's `find`, looked up once: the store the module provides is a Proxy (observed for
   * ended sessions, timed for metrics), and a method looked up through it on every request costs
   * a trap call, about 1,000 instructions per read.
   */
  private readonly find: SessionStore['find'];

  constructor(
    @Inject(SessionStore) readonly store: SessionStore,
    @Inject(SESSION_RESOLVED_OPTIONS) readonly options: ResolvedSessionOptions,
    @Inject(SessionStrategy) readonly strategies: SessionStrategy[],
    @Optional() readonly lifecycle?: SessionLifecycle,
  ) {
    this.issuer = strategies[0];
    this.find = store.find.bind(store);
  }

  /**
   * Tries the strategies in order; the first whose credential is well-formed decides (one store
   * call at most). One it refuses unseen (a shape, a signature) is passed on to the next: strategies
   * may read the same cookie or header (session-id and hashed share both, a bearer JWT may share
   * `header: 'authorization'`), and their shapes never overlap. Fails only for store failures.
   * Synchronous when the strategy and the store answer at once (a near-cache hit), as most reads do
   * with the cache on: no promise, no microtask.
   */
  load(request: SessionRequest): MaybePromise<LoadOutcome> {
    return this.loadFrom(request, 0, null);
  }

  private loadFrom(request: SessionRequest, first: number, refused: LoadOutcome | null): MaybePromise<LoadOutcome> {
    for (let index = first; index < this.strategies.length; index++) {
      const strategy = this.strategies[index];
      const check = strategy.extract(request);
      if (isPromise(check)) {
        return check.then((settled) =>
          settled.kind === 'valid' ? this.withCredential(strategy, settled) : this.loadFrom(request, index + 1, refusedBy(strategy, settled, refused)),
        );
      }
      if (check.kind === 'valid') return this.withCredential(strategy, check);
      refused = refusedBy(strategy, check, refused);
    }
    // The first refusal is reported: its strategy clears the credential it read.
    return refused ?? NO_CREDENTIAL;
  }

  private withCredential(strategy: SessionStrategy, check: CredentialCheck & { kind: 'valid' }): MaybePromise<LoadOutcome> {
    const stored = this.find(check.storeId);
    return isPromise(stored) ? stored.then((found) => this.outcome(strategy, check, found)) : this.outcome(strategy, check, stored);
  }

  private outcome(strategy: SessionStrategy, check: CredentialCheck & { kind: 'valid' }, stored: StoredSession | null): LoadOutcome {
    if (!acceptable(strategy, check, stored)) return { kind: 'rejected', strategy, reason: 'Invalid or expired session credential' };
    return { kind: 'loaded', session: new UserSession(new SessionState(this, { stored, strategy })) };
  }

  /** A new session for a visitor; nothing is stored unless the request writes to it. */
  fresh(request: SessionRequest): UserSession<object> {
    const agent = request.headers['user-agent'];
    const userAgent = typeof agent === 'string' ? agent.slice(0, USER_AGENT_MAX) : null;
    return new UserSession(new SessionState(this, { handle: newHandle(), userAgent }));
  }
}
