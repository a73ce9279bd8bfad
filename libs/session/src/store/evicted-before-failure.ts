/**
 * The handles of the sessions a sign-in evicted (maxSessionsPerUser) before it failed: they stay
 * gone, so whoever reports ended sessions (the commit step's events, the observed store's
 * announcements, the near-cache) still reports them. Kept beside the error rather than in a new
 * error type, so that the failure reaches the caller as the store raised it (a 503 stays a 503).
 */
const evictedBy = new WeakMap<object, readonly string[]>();

/** Records that `evicted` were ended before `error`; returns `error`, to be thrown. */
export function withEvicted<E>(error: E, evicted: readonly string[]): E {
  if (typeof error === 'object' && error !== null && evicted.length > 0) evictedBy.set(error, evicted);
  return error;
}

/** The sessions ended before the operation that threw `error` failed (none for most errors). */
export function evictedBefore(error: unknown): readonly string[] {
  return (typeof error === 'object' && error !== null && evictedBy.get(error)) || [];
}
