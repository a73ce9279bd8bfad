import type { Type } from '@nestjs/common';
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import type { SessionStrategy } from '../strategies/session-strategy.interface.js';
import type { SessionCsrfOptions, SessionExpiryEventsOptions, SessionMetricsOptions } from './session-operations-options.interface.js';

/** The built-in strategies, by the names used in configuration. */
export type SessionStrategyName = 'session-id' | 'jwt' | 'hashed';

/** HMAC (HS*) or asymmetric (RS*, PS*, ES*) algorithms accepted for session JWTs. */
export type SessionJwtAlgorithm =
  | 'HS256' | 'HS384' | 'HS512'
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512';

/** Extra ioredis settings merged over the library's defaults (timeouts, retries). */
export type SessionRedisClientOptions = Omit<RedisOptions, 'host' | 'port' | 'path' | 'sentinels' | 'name'>;

/**
 * Where a request's session changes are saved:
 * - `'auto'` (default): `'on-send'` for HTTP routes, and SessionCommitInterceptor bound to the
 *   app's WebSocket gateways and GraphQL resolvers alone (found at startup among the providers of
 *   the app's modules), so that HTTP routes skip the interceptor even in an app that has them.
 * - `'interceptor'`: a global Nest interceptor, after the handler. Every platform,
 *   GraphQL and gateways; a failed save goes through all of the app's exception filters.
 * - `'on-send'`: just before the response is written (Fastify's `onSend` hook; on Express, its
 *   first `writeHead`, `write` or `end`). HTTP routes on Express or Fastify only (a gateway or
 *   resolver is saved only where the app puts `@UseInterceptors(SessionCommitInterceptor)`). No global
 *   interceptor, so a read-only request skips the rxjs chain Nest builds around every handler
 *   once any interceptor is registered; a failed save reaches the app's global exception filters
 *   (Nest's error handler) but not controller- or method-scoped ones, and the library's errors
 *   thrown by a handler are mapped by a global filter (SessionErrorFilter).
 */
export type SessionCommitMode = 'auto' | 'interceptor' | 'on-send';

/** Exactly one way of reaching Redis. */
export type SessionRedisOptions =
  /**
   * `undefined` is allowed by the type so `{ url: process.env.REDIS_URL }` compiles; an unset URL
   * is refused at startup with a message naming `redis.url`.
   */
  | { url: string | undefined; options?: SessionRedisClientOptions }
  | {
      host: string;
      port?: number;
      username?: string;
      password?: string;
      db?: number;
      tls?: boolean | ConnectionOptions;
      options?: SessionRedisClientOptions;
    }
  | {
      sentinels: Array<{ host: string; port: number }>;
      /** The Sentinel master name. */
      name: string;
      password?: string;
      sentinelPassword?: string;
      db?: number;
      options?: SessionRedisClientOptions;
    }
  | { cluster: { nodes: ClusterNode[]; options?: ClusterOptions } }
  /** A client the application owns: the module uses it and never closes it. */
  | { client: Redis | Cluster };

export interface SessionCookieOptions {
  /** @default '__Host-sid' when secure with no domain and path '/' (what the prefix requires), 'sid' otherwise */
  name?: string;
  domain?: string;
  /** @default '/' */
  path?: string;
  /** @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none';
  /** Set false only for local plain-http development. @default true */
  secure?: boolean;
  /** @default true */
  httpOnly?: boolean;
  /** Cookie lifetime in seconds. @default the session's remaining absolute lifetime */
  maxAge?: number;
}

/** One JWT key. Tokens name it in their `kid` header; the first key signs new tokens. */
export interface SessionJwtKey {
  kid: string;
  /** HMAC secret (HS* algorithms), at least 32 bytes of UTF-8. */
  secret?: string;
  /** PEM private key for RS/PS/ES algorithms; only the signing (first) key needs it. */
  privateKey?: string;
  /** PEM public key for RS/PS/ES algorithms. */
  publicKey?: string;
}

export interface SessionJwtOptions {
  /** One HMAC secret (at least 32 bytes). Use `keys` instead for key rotation. */
  secret?: string;
  /** Verification keys selected by `kid`; the first one signs. */
  keys?: SessionJwtKey[];
  /** The allow-list; a token with any other `alg` is refused. @default ['HS256'] */
  algorithms?: SessionJwtAlgorithm[];
  issuer?: string;
  audience?: string;
  /** Token lifetime in seconds. @default the absolute session TTL */
  expiresIn?: number;
  /** Where clients send the token. @default 'bearer' (`Authorization: Bearer <token>`) */
  transport?: 'bearer' | 'cookie';
}

/**
 * The opt-in near-cache: recently loaded sessions kept in process, invalidated by Redis
 * (`CLIENT TRACKING`) when another server changes or revokes them. Standalone and Sentinel only.
 */
export interface SessionCacheOptions {
  /** Sessions kept per process (least recently used dropped first). @default 10000 */
  maxEntries?: number;
  /** Longest an entry is served without asking Redis, in milliseconds. @default 30000 */
  ttlMs?: number;
}

/**
 * Make sign-outs (and, with `writes`, sign-ins and writes) survive a failover: after a session is
 * destroyed by a logout or a revoke, Redis `WAIT replicas timeoutMs` must confirm that many
 * replicas have the deletion; otherwise the request fails with `SessionDurabilityError` (HTTP 503).
 * Only for deployments with replicas.
 */
export interface SessionDurabilityOptions {
  /** Replicas that must acknowledge the deletion (or, with `writes`, the write); at least 1. */
  replicas: number;
  /** Longest wait for them, in ms; must be below the client's `commandTimeout` (1000 by default). */
  timeoutMs: number;
  /**
   * Also wait after every sign-in, rotation and session write, so a failover cannot lose what a
   * response reported saved (Redis replicates asynchronously: without it, what the old master
   * acknowledged just before a failover can be gone). Costs one `WAIT` per write. Standalone and
   * Sentinel only: refused on Cluster. Default false.
   */
  writes?: boolean;
}

/** Options of `SessionModule.forRoot()` / the factory of `forRootAsync()`. */
export interface SessionModuleOptions {
  /** How to reach Redis. Required unless `store` is 'memory'. */
  redis?: SessionRedisOptions;
  /** @default 'redis' */
  store?: 'redis' | 'memory';
  /**
   * One strategy, or several tried in order (the first one issues new sessions; a credential one
   * refuses unseen is passed on to the next). @default 'session-id'
   */
  strategy?: SessionStrategyName | Type<SessionStrategy> | Array<SessionStrategyName | Type<SessionStrategy>>;
  /** Seconds. @default { idle: 1800, absolute: 604800 } */
  ttl?: { idle?: number; absolute?: number };
  /** Seconds between two sliding-expiry writes of a session that is only read. @default min(idle / 4, 60) */
  touchAfter?: number;
  /** Prefix of every Redis key. No braces (they are Cluster hash tags). @default 'sess:' */
  keyPrefix?: string;
  /** Cookie transport settings, or false to use the `header` transport only. */
  cookie?: SessionCookieOptions | false;
  /** Header that carries the credential for session-id and hashed strategies (besides or instead of the cookie). */
  header?: string;
  /** Required when a strategy is 'jwt'. */
  jwt?: SessionJwtOptions;
  /** Maximum bytes of session data (keys + JSON values). @default 65536 */
  maxDataBytes?: number;
  /**
   * After a sign-in or `regenerate()` rotates a session, how long (ms) requests still in flight
   * with the old credential are served the old session as it was, read-only (changes answer 409),
   * instead of 401 with the credential cleared, which could sign the user out when that answer
   * reaches the browser after the new credential. The new session's own data is never served to
   * the old credential. A logout or revoke of the new session ends the grace at once. 0: off.
   * @default 5000
   */
  rotationGraceMs?: number;
  /** Maximum live sessions per user; the oldest is evicted on login. @default no limit */
  maxSessionsPerUser?: number;
  /** 'global' registers SessionGuard for every route; otherwise use @UseGuards(SessionGuard). @default 'manual' */
  guard?: 'global' | 'manual';
  /** Where session changes are saved; see SessionCommitMode. @default 'auto' */
  commit?: SessionCommitMode;
  /** Confirm logouts and revokes on replicas with `WAIT` (Redis store only). @default off */
  durability?: SessionDurabilityOptions;
  /**
   * Send the commands requests issue in one event-loop turn in one socket write per connection
   * (each stays its own command). `false` writes each command at once. @default true
   */
  batchWrites?: boolean;
  /** In-process near-cache kept coherent by Redis invalidations. @default off */
  cache?: SessionCacheOptions | false;
  /** Refuse unsafe cross-origin requests (CSRF defence); `false` turns it off. @default on for cookie transport */
  csrf?: SessionCsrfOptions | false;
  /** Emit `session.expired` from a deadline sweeper (costs a write per session created and destroyed). @default false */
  expiryEvents?: boolean | SessionExpiryEventsOptions;
  /** OpenTelemetry metrics; `false` records nothing. @default the global MeterProvider */
  metrics?: SessionMetricsOptions | false;
}
