import { performance } from 'node:perf_hooks';
import { isPromise } from '../maybe-promise.js';
import { SessionStoreUnavailableError } from '../session.errors.js';
import type { SessionStore } from '../store/session-store.interface.js';
import { wrapStoreMethods, type StoreMethod } from '../store/wrapped-store.js';
import type { SessionMetrics } from './session.metrics.js';

/** The SessionStore contract's operations: each call is timed and its failures counted. */
const OPERATIONS: ReadonlySet<PropertyKey> = new Set<keyof SessionStore>([
  'find', 'create', 'commit', 'increment', 'rotate', 'destroy', 'listForUser', 'destroyByHandle', 'destroyAllForUser', 'ping',
]);

/**
 * Wraps a store so every contract call records its duration and failures, and `find` counts a
 * session load. Calls run on the store itself, so a store's internal calls (rotate's own destroy)
 * are not counted twice.
 */
export function instrumentStore<S extends SessionStore>(store: S, metrics: SessionMetrics): S {
  // No-op instruments (no OpenTelemetry SDK when the module started) would only cost time.
  if (!metrics.enabled || !metrics.recording) return store;
  return wrapStoreMethods(store, (target, method, name) =>
    OPERATIONS.has(name) ? timed(target, method, String(name), metrics) : method.bind(target),
  );
}

function timed(target: object, method: StoreMethod, operation: string, metrics: SessionMetrics): StoreMethod {
  return (...args: unknown[]) => {
    const start = performance.now();
    const succeeded = (result: unknown): unknown => {
      metrics.storeCall(operation, (performance.now() - start) / 1000, null);
      if (operation === 'find') metrics.load(result !== null);
      return result;
    };
    const failed = (error: unknown): never => {
      metrics.storeCall(operation, (performance.now() - start) / 1000, failureType(error));
      throw error;
    };
    let result: unknown;
    try {
      result = method.apply(target, args);
    } catch (error) {
      return failed(error);
    }
    // A near-cache hit stays synchronous, so timing it adds no promise to the read.
    return isPromise(result) ? result.then(succeeded, failed) : succeeded(result);
  };
}

/** Only failures of the store itself are errors; refusals such as "data too large" are answers. */
function failureType(error: unknown): string | null {
  return error instanceof SessionStoreUnavailableError ? error.name : null;
}
