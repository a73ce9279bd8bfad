import type { SessionStore } from './session-store.interface.js';

export type StoreMethod = (...args: unknown[]) => unknown;

/**
 * A view of `store` whose methods are replaced by `wrap(target, method, name)`. A Proxy rather
 * than a wrapper class: `instanceof`, and methods a store or a caching layer adds beyond the
 * interface, keep working unchanged. Each method is wrapped once, not on every access (`find`
 * runs on every request), and runs with the real store as `this`: getters and methods may use
 * #private fields, which a Proxy lacks.
 */
export function wrapStoreMethods<S extends SessionStore>(store: S, wrap: (target: S, method: StoreMethod, name: PropertyKey) => StoreMethod): S {
  const wrapped = new Map<PropertyKey, { original: StoreMethod; wrapper: StoreMethod }>();
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || property === 'constructor') return value;
      const known = wrapped.get(property);
      if (known?.original === value) return known.wrapper;
      const wrapper = wrap(target, value as StoreMethod, property);
      wrapped.set(property, { original: value as StoreMethod, wrapper });
      return wrapper;
    },
  });
}
