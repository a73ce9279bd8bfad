import type { ResponseWriter } from './http/http-message.js';
import {
  SessionDataTooLargeError,
  SessionDurabilityError,
  SessionGoneError,
  SessionReplacedError,
  SessionSignInRequiredError,
  SessionStoreUnavailableError,
} from './session.errors.js';
import type { SessionState } from './session-state.js';
import { evictedBefore } from './store/evicted-before-failure.js';
import { largestKey } from './store/session-data.util.js';
import type { SessionDelta, WriteRefusal } from './store/session-store.interface.js';
import { sessionState, type UserSession } from './user-session.js';

/**
 * Marks the session saved when the request left nothing to save (the common read-only request) and
 * returns true; returns false, changing nothing, when `commitSession` has work to do. Lets the
 * caller skip an async step per request.
 */
export function commitIfNoop(session: UserSession<object>): boolean {
  return noopCommitted(sessionState(session));
}

function noopCommitted(state: SessionState): boolean {
  if (state.committed) return true;
  const unchanged = !state.destroyed && state.dropPrevious === null && state.rotateTo === null && !state.hasDelta();
  // Stored already, or a visitor who stored nothing (createSession would return at once).
  const noop = unchanged && (state.storeId !== null || (state.userId === null && state.values.size === 0));
  if (noop) state.committed = true;
  return noop;
}

/**
 * `commit: 'on-send'`: whether a response about to be sent must wait for its session's save. Not
 * for a request that changed nothing, nor for an error answer (status >= 400), whose changes are
 * dropped, as a handler that throws saves nothing with the interceptor, nor while GraphQL
 * resolvers the interceptor commits for are still running.
 */
export function mustSaveBeforeSending(session: UserSession<object> | undefined, statusCode: number): session is UserSession<object> {
  if (!session) return false;
  const state = sessionState(session);
  // GraphQL over HTTP: its resolvers' interceptor commits, also after an early answer.
  if (state.resolversRunning > 0 || noopCommitted(state)) return false;
  if (statusCode < 400) return true;
  state.committed = true;
  return false;
}

/**
 * Saves what the request did to its session, before the response is sent: at most one store
 * operation for an ordinary write, nothing at all for a request that changed nothing.
 */
export async function commitSession(session: UserSession<object>, response: ResponseWriter): Promise<void> {
  const state = sessionState(session);
  if (state.committed) return;
  state.committed = true;
  const { store } = state.backend;

  if (state.destroyed) {
    await dropPrevious(state);
    try {
      if (state.storeId && (await store.destroy(state.storeId, { durable: true }))) {
        state.backend.lifecycle?.destroyed(state, 'logout');
      }
    } catch (error) {
      // Deleted on the master but not confirmed by replicas: the client must still forget it.
      if (error instanceof SessionDurabilityError) state.strategy.clear(response);
      throw error;
    }
    state.strategy.clear(response);
    return;
  }
  await dropPrevious(state);

  const delta: SessionDelta = { set: state.changes, delete: state.removals };
  if (state.storeId === null) return createSession(state, response);
  if (state.rotateTo) {
    const target = { ...state.rotateTo, userId: state.userId, strategy: state.strategy.name, notRevokedSince: state.startedAt };
    let outcome;
    try {
      outcome = await store.rotate(state.storeId, target, delta);
    } catch (error) {
      // Failed after it evicted (Redis went away at its last step): the evicted sessions are gone.
      reportEvicted(state, evictedBefore(error));
      throw error;
    }
    if (typeof outcome === 'string') throw refusal(outcome, delta, state);
    if ('refused' in outcome) {
      reportEvicted(state, outcome.evicted);
      throw refusal(outcome.refused, delta, state);
    }
    const previousHandle = state.handle;
    state.storeId = state.rotateTo.storeId;
    state.handle = state.rotateTo.handle;
    state.backend.lifecycle?.rotated(state, previousHandle, state.strategy.name);
    reportEvicted(state, outcome.evicted);
    // Unconfirmed, the rotation still happened on the master: the old credential no longer works
    // there, so the new one must reach the client before the error.
    state.strategy.deliver(response, state.rotateTo.credential, state.absoluteDeadline);
    if (outcome.unconfirmed) throw outcome.unconfirmed;
    return;
  }
  if (!state.hasDelta()) return;
  const outcome = await store.commit(state.storeId, delta);
  if (outcome !== 'ok') throw refusal(outcome, delta, state);
}

async function createSession(state: SessionState, response: ResponseWriter): Promise<void> {
  // Visitors who never write get no record (and no cookie): nothing to store, nothing to attack.
  if (state.userId === null && state.values.size === 0) return;
  if (state.userId === null && !state.strategy.supportsGuests) {
    throw new SessionSignInRequiredError(`The ${state.strategy.name} strategy cannot keep a guest session: sign in first`);
  }
  if (!state.rotateTo) {
    const minted = await state.strategy.mint(state.userId, state.absoluteDeadline);
    state.rotateTo = { storeId: minted.storeId, handle: state.handle, credential: minted.credential };
  }
  const identity = state.rotateTo;
  const { evicted, unconfirmed } = await state.backend.store.create({
    notRevokedSince: state.startedAt,
    storeId: identity.storeId,
    handle: identity.handle,
    userId: state.userId,
    createdAt: state.createdAt,
    absoluteDeadline: state.absoluteDeadline,
    userAgent: state.userAgent,
    strategy: state.strategy.name,
    data: state.values,
  });
  state.storeId = identity.storeId;
  state.handle = identity.handle;
  state.strategy.deliver(response, identity.credential, state.absoluteDeadline);
  reportCreated(state, evicted);
  if (unconfirmed) throw unconfirmed;
}

function reportCreated(state: SessionState, evicted: readonly string[]): void {
  state.backend.lifecycle?.created(state, state.strategy.name);
  reportEvicted(state, evicted);
}

/** Sessions of the user a sign-in ended (maxSessionsPerUser). */
function reportEvicted(state: SessionState, evicted: readonly string[]): void {
  for (const handle of evicted) state.backend.lifecycle?.revoked({ handle, userId: state.userId }, 'limit');
}

/** Ends the session a sign-in of another user replaced (see UserSession.logIn). */
async function dropPrevious(state: SessionState): Promise<void> {
  if (!state.dropPrevious) return;
  // The handle is still the old session's: the new identity is only applied after this.
  const replaced = { handle: state.handle, userId: state.droppedUserId };
  if (await state.backend.store.destroy(state.dropPrevious)) state.backend.lifecycle?.destroyed(replaced, 'replaced');
}

/** The error a store's refusal of the request's write answers with. */
function refusal(outcome: WriteRefusal | 'ok', delta: SessionDelta, state: SessionState): Error {
  if (outcome === 'gone') return new SessionGoneError();
  if (outcome === 'replaced') return new SessionReplacedError();
  if (outcome === 'too-large') return new SessionDataTooLargeError(largestKey(delta.set), state.backend.options.maxDataBytes);
  // Not a refusal a write can get: a store that answers this breaks its contract, and the save is not done.
  return new SessionStoreUnavailableError(`the session store answered '${outcome}' to a write`);
}
