import type { MeterProvider } from '@opentelemetry/api';

/**
 * Cross-origin request refusal for cookie sessions (CSRF defence). A browser sends the session
 * cookie with a request another site makes it send; such a request is refused (403) when its
 * method is unsafe (anything but GET, HEAD, OPTIONS) and its `Sec-Fetch-Site` or `Origin` header
 * shows that another origin made it. A request with neither header is not from a (modern) browser
 * and passes. The check runs where `SessionGuard` runs.
 */
export interface SessionCsrfOptions {
  /** @default true when a strategy reads its credential from a cookie, false otherwise */
  enabled?: boolean;
  /**
   * Other origins allowed to send unsafe requests, as `scheme://host[:port]` (e.g. a separate
   * front-end, or the public origin when a proxy rewrites `Host`). The app's own origin (the
   * request's `Host`) is always allowed. @default []
   */
  trustedOrigins?: string[];
}

/**
 * `session.expired` events, found by a sweeper over the sessions' deadlines (never keyspace
 * notifications, which need `CONFIG`). Costs one extra Redis write per session created and per
 * session destroyed, and one sorted-set entry per live session; reads are unchanged.
 */
export interface SessionExpiryEventsOptions {
  /** Seconds between two sweeps: an expiry is reported at most about this late. @default 10 */
  intervalSeconds?: number;
  /** Most expired sessions handled per deadline shard per sweep. @default 500 */
  batchSize?: number;
  /**
   * Deadline sets the entries are spread over (each its own Cluster slot, by `{d<n>}` hash tag).
   * Changing it strands the entries of the old sets until their TTL. @default 16 on Cluster, 1 otherwise
   */
  shards?: number;
}

/** OpenTelemetry metrics (`@opentelemetry/api`: nothing is recorded unless the app installs an SDK). */
export interface SessionMetricsOptions {
  /** @default the global provider at module start-up (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
}
