import { SessionDurabilityError } from '../session.errors.js';
import type { SessionStore } from '../store/session-store.interface.js';
import { wrapStoreMethods } from '../store/wrapped-store.js';
import { storeIdDigest, type SessionEndedBus } from './session-ended.bus.js';

type Announce = (bus: SessionEndedBus, args: unknown[], result: unknown) => void;

/** Deleted on the master, unconfirmed by replicas (SessionDurabilityError): ended as far as sockets go. */
const UNCONFIRMED = Symbol('unconfirmed');

/** The store operations that end sessions, and what each announces once it succeeded. */
const ENDINGS: Partial<Record<keyof SessionStore, Announce>> = {
  destroy: (bus, [storeId]) => bus.publish({ kind: 'session', digest: storeIdDigest(storeId as string), reason: 'destroyed' }),
  rotate: (bus, [fromStoreId], result) => {
    if (result === 'ok') bus.publish({ kind: 'session', digest: storeIdDigest(fromStoreId as string), reason: 'rotated' });
  },
  destroyByHandle: (bus, [userId, handle], result) => {
    if (result === true || result === UNCONFIRMED) bus.publish({ kind: 'handle', userId: userId as string, handle: handle as string });
  },
  destroyAllForUser: (bus, [userId, except], result) => {
    if ((typeof result === 'number' && result > 0) || result === UNCONFIRMED) {
      bus.publish({ kind: 'user', userId: userId as string, except: (except as string | undefined) ?? null });
    }
  },
  // Sessions evicted by maxSessionsPerUser.
  create: (bus, [session], result) => {
    const { userId } = session as { userId: string | null };
    for (const handle of (result as { evicted?: string[] } | undefined)?.evicted ?? []) {
      if (userId !== null) bus.publish({ kind: 'handle', userId, handle });
    }
  },
};

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
        throw error;
      }
      announce(bus, args, result);
      return result;
    };
  });
}
