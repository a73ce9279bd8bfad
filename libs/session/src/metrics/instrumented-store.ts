import { performance } from 'node:perf_hooks';
import { SessionStoreUnavailableError } from '../session.errors.js';
import type { SessionStore } from '../store/session-store.interface.js';
import type { SessionMetrics } from './session.metrics.js';

/** The SessionStore contract's operations: each call is timed and its failures counted. */
const OPERATIONS: ReadonlySet<PropertyKey> = new Set<keyof SessionStore>([
  'find', 'create', 'commit', 'increment', 'rotate', 'destroy', 'listForUser', 'destroyByHandle', 'destroyAllForUser', 'ping',
]);

/**
 * Wraps a store so every contract call records its duration and failures, and `find` counts a
 * session load. A Proxy rather than a wrapper class: `instanceof`, extra methods (`close`,
 * `sweepExpired`) and any other wrapper around the store keep working unchanged. Calls run on the
 * store itself, so a store's internal calls (rotate's own destroy) are not counted twice.
 */
export function instrumentStore<S extends SessionStore>(store: S, metrics: SessionMetrics): S {
  if (!metrics.enabled) return store;
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || property === 'constructor') return value;
      if (!OPERATIONS.has(property)) return value.bind(target);
      const operation = String(property);
      return async (...args: unknown[]) => {
        const start = performance.now();
        try {
          const result: unknown = await value.apply(target, args);
          metrics.storeCall(operation, (performance.now() - start) / 1000, null);
          if (operation === 'find') metrics.load(result !== null);
          return result;
        } catch (error) {
          metrics.storeCall(operation, (performance.now() - start) / 1000, failureType(error));
          throw error;
        }
      };
    },
  });
}

/** Only failures of the store itself are errors; refusals such as "data too large" are answers. */
function failureType(error: unknown): string | null {
  return error instanceof SessionStoreUnavailableError ? error.name : null;
}
