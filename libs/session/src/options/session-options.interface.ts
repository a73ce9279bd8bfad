import type { Type } from '@nestjs/common';
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import type { SessionStrategy } from '../strategies/session-strategy.interface.js';

/** The built-in strategies, by the names used in configuration. */
export type SessionStrategyName = 'session-id' | 'jwt' | 'hashed';

/** HMAC (HS*) or asymmetric (RS*, PS*, ES*, EdDSA) algorithms accepted for session JWTs. */
export type SessionJwtAlgorithm =
  | 'HS256' | 'HS384' | 'HS512'
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512';

/** Extra ioredis settings merged over the library's defaults (timeouts, retries). */
export type SessionRedisClientOptions = Omit<RedisOptions, 'host' | 'port' | 'path' | 'sentinels' | 'name'>;

/** Exactly one way of reaching Redis. */
export type SessionRedisOptions =
  | { url: string; options?: SessionRedisClientOptions }
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
  /** @default '__Host-sid' when secure, 'sid' otherwise */
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

/** Options of `SessionModule.forRoot()` / the factory of `forRootAsync()`. */
export interface SessionModuleOptions {
  /** How to reach Redis. Required unless `store` is 'memory'. */
  redis?: SessionRedisOptions;
  /** @default 'redis' */
  store?: 'redis' | 'memory';
  /** One strategy, or several tried in order (the first one issues new sessions). @default 'session-id' */
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
  /** Maximum live sessions per user; the oldest is evicted on login. @default no limit */
  maxSessionsPerUser?: number;
  /** 'global' registers SessionGuard for every route; otherwise use @UseGuards(SessionGuard). */
  guard?: 'global' | 'manual';
}
