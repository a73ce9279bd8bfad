import type { ResponseWriter } from './http/http-message.js';
import { SessionDataTooLargeError, SessionGoneError, SessionSignInRequiredError } from './session.errors.js';
import type { SessionState } from './session-state.js';
import { largestKey } from './store/session-data.util.js';
import type { SessionDelta, WriteRefusal } from './store/session-store.interface.js';
import { sessionState, type UserSession } from './user-session.js';

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
    if (state.dropPrevious) await store.destroy(state.dropPrevious);
    if (state.storeId) await store.destroy(state.storeId);
    state.strategy.clear(response);
    return;
  }
  if (state.dropPrevious) await store.destroy(state.dropPrevious);

  const delta: SessionDelta = { set: state.changes, delete: state.removals };
  if (state.storeId === null) return createSession(state, response);
  if (state.rotateTo) {
    const target = { ...state.rotateTo, userId: state.userId, strategy: state.strategy.name };
    check(await store.rotate(state.storeId, target, delta), delta, state);
    state.storeId = state.rotateTo.storeId;
    state.handle = state.rotateTo.handle;
    state.strategy.deliver(response, state.rotateTo.credential, state.absoluteDeadline);
    return;
  }
  if (state.hasDelta()) check(await store.commit(state.storeId, delta), delta, state);
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
  await state.backend.store.create({
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
}

function check(outcome: 'ok' | WriteRefusal, delta: SessionDelta, state: SessionState): void {
  if (outcome === 'ok') return;
  if (outcome === 'gone') throw new SessionGoneError();
  throw new SessionDataTooLargeError(largestKey(delta.set), state.backend.options.maxDataBytes);
}
