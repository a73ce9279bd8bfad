/** A session the store found expired (idle or absolute deadline passed), reported once. */
export interface ExpiredSession {
  /** The session's handle (non-secret id), as `UserSession.id` showed it. */
  readonly handle: string;
  readonly userId: string | null;
  /** Which deadline ended it, as far as the store can tell. */
  readonly reason: 'idle' | 'absolute';
}

/**
 * Optional store capability (checked with `isExpirySource`, not part of `SessionStore`): report
 * sessions that expired since the last call, each once across every process sharing the store.
 */
export interface SessionExpirySource {
  /** At most about `limit` expired sessions per call; the rest are reported by later calls. */
  sweepExpired(limit: number): Promise<ExpiredSession[]>;
}

export function isExpirySource(store: unknown): store is SessionExpirySource {
  return typeof (store as Partial<SessionExpirySource> | null)?.sweepExpired === 'function';
}

/** `expiryEvents` after defaults; null in the options when expiry events are off. */
export interface ExpiryTrackingSettings {
  readonly intervalMs: number;
  readonly batchSize: number;
  /** Deadline sets; null: 16 on Cluster, 1 otherwise (decided by the Redis store). */
  readonly shards: number | null;
}
