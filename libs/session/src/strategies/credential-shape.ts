/**
 * Pure shape checks run before any store call, so a malformed credential can never reach Redis as
 * part of a key (no braces to move the Cluster hash tag, no pattern characters, bounded length).
 */
const base64url = (length: number): RegExp => new RegExp(`^[A-Za-z0-9_-]{${length}}$`);

/** Random bytes per credential kind, and the base64url length that gives. */
export const CREDENTIAL_BYTES = { sessionId: 24, hashedSecret: 32, jwtSid: 24, handle: 16 } as const;

export const SHAPES = {
  /** 24 random bytes: 192 bits. */
  sessionId: base64url(32),
  /** 32 random bytes: 256 bits; the store sees only its SHA-256 (also 43 characters). */
  hashedSecret: base64url(43),
  jwtSid: base64url(32),
  handle: base64url(22),
  /** Three base64url segments; 4 KiB is far above any token we issue. */
  jwt: /^[A-Za-z0-9_-]{2,2048}\.[A-Za-z0-9_-]{2,2048}\.[A-Za-z0-9_-]{0,1024}$/,
} as const;

/** Store ids the stores accept: what every built-in strategy produces. */
export const STORE_ID = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * User ids: any printable text without braces (they are part of the index key's hash tag). No lone
 * surrogate halves either: sent to Redis as UTF-8 each becomes U+FFFD, so 'a\uD800' and 'a\uDC00'
 * would name one user's index.
 */
export const USER_ID = /^[^{}\s\p{Cc}\p{Cs}]{1,128}$/u;

export const isHandle = (value: string): boolean => SHAPES.handle.test(value);
