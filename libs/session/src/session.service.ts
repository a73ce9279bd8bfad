import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedSessionOptions } from './options/resolved-options.js';
import { SessionDataError, SessionUsageError } from './session.errors.js';
import { SESSION_RESOLVED_OPTIONS } from './session.internal-constants.js';
import { SessionLoader, acceptable } from './session-loader.js';
import { newHandle } from './user-session.js';
import { SessionStore, type SessionInfo } from './store/session-store.interface.js';
import { isHandle, USER_ID } from './strategies/credential-shape.js';
import type { SessionStrategy } from './strategies/session-strategy.interface.js';

/** A session as seen from outside a request. */
export interface SessionSnapshot<T extends object = Record<string, unknown>> {
  readonly id: string;
  readonly userId: string | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly data: Partial<T>;
}

/** A credential issued by `SessionService.create()`. */
export interface IssuedSession {
  /** Give this to the client; it is the only place it appears. */
  readonly token: string;
  readonly id: string;
  readonly expiresAt: Date;
}

/** Sessions outside a request: issue, inspect, list and revoke (e.g. from an admin tool or a job). */
@Injectable()
export class SessionService {
  constructor(
    @Inject(SessionStore) private readonly store: SessionStore,
    @Inject(SESSION_RESOLVED_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly loader: SessionLoader,
  ) {}

  /**
   * Creates a signed-in session through the first configured strategy, or through `meta.strategy`
   * (e.g. `'jwt'` for an API client of an app whose browsers get cookies). With
   * `durability.writes`, one the replicas did not confirm is deleted again and
   * `SessionDurabilityError` thrown: its token would reach the caller as if it were safe.
   */
  async create<T extends object = Record<string, unknown>>(
    userId: string,
    data: Partial<T> = {},
    meta: { userAgent?: string; strategy?: string } = {},
  ): Promise<IssuedSession> {
    if (!USER_ID.test(userId)) throw new SessionDataError('create(userId) needs 1-128 printable characters without braces or spaces');
    const issuer = this.issuerNamed(meta.strategy);
    const now = Date.now();
    const absoluteDeadline = now + this.options.absoluteMs;
    const minted = await issuer.mint(userId, absoluteDeadline);
    const handle = newHandle();
    const values = new Map(Object.entries(data).map(([key, value]) => [key, JSON.stringify(value)]));
    const { evicted, unconfirmed } = await this.store.create({
      storeId: minted.storeId,
      handle,
      userId,
      createdAt: now,
      absoluteDeadline,
      userAgent: meta.userAgent ?? null,
      strategy: issuer.name,
      data: values,
    });
    // Best effort: a failover before replication would lose it anyway, and no one holds its token.
    if (unconfirmed) await this.store.destroy(minted.storeId).catch(() => false);
    else this.loader.lifecycle?.created({ handle, userId }, issuer.name);
    for (const gone of evicted) this.loader.lifecycle?.revoked({ handle: gone, userId }, 'limit');
    if (unconfirmed) throw unconfirmed;
    return { token: minted.credential, id: handle, expiresAt: new Date(Math.min(now + this.options.idleMs, absoluteDeadline)) };
  }

  /** Reads the session a credential names (as a client would present it), or null. */
  async get<T extends object = Record<string, unknown>>(token: string): Promise<SessionSnapshot<T> | null> {
    const found = await this.resolve(token);
    if (!found) return null;
    const data: Record<string, unknown> = {};
    for (const [key, json] of found.data) {
      try {
        // Defined, not assigned: `data['__proto__'] = v` would make v the prototype of data.
        Object.defineProperty(data, key, { value: JSON.parse(json), enumerable: true, writable: true, configurable: true });
      } catch {
        this.loader.logger.warn(`Dropped undecodable session field "${key}"`);
      }
    }
    return {
      id: found.handle,
      userId: found.userId,
      createdAt: new Date(found.createdAt),
      expiresAt: new Date(Math.min(found.lastAccessAt + this.options.idleMs, found.absoluteDeadline)),
      data: data as Partial<T>,
    };
  }

  /**
   * Ends the session a credential names. Returns whether there was one. With `durability`, rejects
   * with `SessionDurabilityError` when the replicas did not confirm it (so do the two below).
   */
  async destroy(token: string): Promise<boolean> {
    const found = await this.resolve(token);
    const destroyed = found ? await this.store.destroy(found.storeId, { durable: true }) : false;
    if (found && destroyed) this.loader.lifecycle?.revoked(found, 'token');
    return destroyed;
  }

  /** The user's live sessions, oldest first. */
  listForUser(userId: string): Promise<SessionInfo[]> {
    return USER_ID.test(userId) ? this.store.listForUser(userId) : Promise.resolve([]);
  }

  /** Ends one of the user's sessions by its id (handle). False for an unknown or malformed id. */
  async destroyById(userId: string, id: string): Promise<boolean> {
    if (!USER_ID.test(userId) || !isHandle(id)) return false;
    const destroyed = await this.store.destroyByHandle(userId, id);
    if (destroyed) this.loader.lifecycle?.revoked({ handle: id, userId }, 'id');
    return destroyed;
  }

  /** Ends every session of the user, or every one but `except` (the current session's id). */
  async destroyAllForUser(userId: string, options: { except?: string } = {}): Promise<number> {
    if (!USER_ID.test(userId)) return 0;
    const lifecycle = this.loader.lifecycle;
    // An event names its session, so list them first, but only when there is a listener to tell.
    const listed = lifecycle?.emitting ? await this.store.listForUser(userId) : [];
    const count = await this.store.destroyAllForUser(userId, options.except);
    lifecycle?.revokedAll(userId, listed.map((s) => s.handle).filter((h) => h !== options.except), count);
    return count;
  }

  /** Whether the store answers within `timeoutMs`. */
  async isHealthy(timeoutMs = 1000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.store.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private issuerNamed(name: string | undefined): SessionStrategy {
    if (name === undefined) return this.loader.issuer;
    const strategy = this.loader.strategies.find((s) => s.name === name);
    if (!strategy) {
      const configured = this.loader.strategies.map((s) => `'${s.name}'`).join(', ');
      throw new SessionUsageError(`create(): no strategy '${name}' is configured (configured: ${configured})`);
    }
    return strategy;
  }

  private async resolve(token: string) {
    for (const strategy of this.loader.strategies) {
      const check = await strategy.verify(token);
      if (check.kind !== 'valid') continue;
      const stored = await this.store.find(check.storeId);
      if (acceptable(strategy, check, stored)) return stored;
    }
    return null;
  }
}
