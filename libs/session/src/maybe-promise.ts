/**
 * A value now or later. A strategy or a store answers synchronously when it already knows (a JWT
 * verified before, a near-cache hit), so that the common read creates no promise at all.
 */
export type MaybePromise<T> = T | Promise<T>;

/** Whether `value` is still to come (any thenable: a custom store may use another promise library). */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
