export const SESSION_DEFAULTS = {
  idleSeconds: 30 * 60,
  absoluteSeconds: 7 * 24 * 60 * 60,
  touchAfterCapSeconds: 60,
  keyPrefix: 'sess:',
  maxDataBytes: 64 * 1024,
  cookieName: 'sid',
  secureCookieName: '__Host-sid',
  jwtAlgorithms: ['HS256'],
  minHmacSecretBytes: 32,
  cacheMaxEntries: 10_000,
  cacheTtlMs: 30_000,
  rotationGraceMs: 5_000,
} as const;

/** The idle timeout when `ttl.idle` is not set: the default, shortened to a shorter absolute lifetime. */
export const defaultIdleSeconds = (absoluteSeconds: number | undefined): number =>
  Math.min(SESSION_DEFAULTS.idleSeconds, absoluteSeconds ?? Infinity);
