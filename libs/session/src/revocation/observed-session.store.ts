import { SessionDurabilityError } from '../session.errors.js';
import type { SessionStore, SessionWritten } from '../store/session-store.interface.js';
import { evictedBefore } from '../store/evicted-before-failure.js';
import { wrapStoreMethods } from '../store/wrapped-store.js';
import { storeIdDigest, type SessionEndedBus } from './session-ended.bus.js';

type Announce = (bus: SessionEndedBus, args: unknown[], result: unknown) => void;

/** Deleted on the master, unconfirmed by replicas (SessionDurabilityError): ended as far as sockets go. */
const UNCONFIRMED = Symbol('unconfirmed');

/** The store operations that end sessions, and what each announces once it succeeded. */
const ENDINGS: Partial<Record<keyof SessionStore, Announce>> = {
  destroy: (bus, [storeId]) => bus.publish({ kind: 'session', digest: storeIdDigest(storeId as string), reason: 'destroyed' }),
  rotate: (bus, [fromStoreId, to], result) => {
    if (typeof result !== 'object' || result === null) return;
    // Refused after evicting (RotationRefused): the old session was not rotated, the evicted ones are gone.
    if (!('refused' in result)) bus.publish({ kind: 'session', digest: storeIdDigest(fromStoreId as string), reason: 'rotated' });
    announceEvicted(bus, (to as { userId: string | null }).userId, result);
  },
  destroyByHandle: (bus, [userId, handle], result) => {
    if (result === true || result === UNCONFIRMED) bus.publish({ kind: 'handle', userId: userId as string, handle: handle as string });
  },
  destroyAllForUser: (bus, [userId, except], result) => {
    if ((typeof result === 'number' && result > 0) || result === UNCONFIRMED) {
      bus.publish({ kind: 'user', userId: userId as string, except: (except as string | undefined) ?? null });
    }
  },
  create: (bus, [session], result) => announceEvicted(bus, (session as { userId: string | null }).userId, result),
};

/** Sessions a sign-in (create, or rotate into a user) evicted by maxSessionsPerUser. */
function announceEvicted(bus: SessionEndedBus, userId: string | null, result: unknown): void {
  if (userId === null) return;
  for (const handle of (result as Partial<SessionWritten> | undefined)?.evicted ?? []) bus.publish({ kind: 'handle', userId, handle });
}

/**
 * The store as every caller sees it (commit step, SessionService, anything added later), announcing
 * each ended session on `bus` once the operation that ended it succeeded.
 */
export function observeSessionEndings<S extends SessionStore>(store: S, bus: SessionEndedBus): S {
  return wrapStoreMethods(store, (target, method, name) => {
    const announce = ENDINGS[name as keyof SessionStore];
    if (!announce) return method.bind(target);
    return async (...args: unknown[]) => {
      let result: unknown;
      try {
        result = await method.apply(target, args);
      } catch (error) {
        if (error instanceof SessionDurabilityError) announce(bus, args, UNCONFIRMED);
        // A sign-in that failed after it evicted: those sessions are gone all the same.
        else if (name === 'rotate') announceEvicted(bus, (args[1] as { userId: string | null }).userId, { evicted: [...evictedBefore(error)] });
        throw error;
      }
      announce(bus, args, result);
      return result;
    };
  });
}
