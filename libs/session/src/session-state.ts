import type { Logger } from '@nestjs/common';
import type { ResolvedSessionOptions } from './options/resolved-options.js';
import type { SessionStore, StoredSession } from './store/session-store.interface.js';
import type { SessionStrategy } from './strategies/session-strategy.interface.js';
import type { SessionLifecycle } from './events/session-lifecycle.js';

/** What a UserSession needs from the module: the store, the settings and the issuing strategy. */
export interface SessionBackend {
  readonly store: SessionStore;
  readonly options: ResolvedSessionOptions;
  /** The strategy that issues credentials for new sessions (the first configured). */
  readonly issuer: SessionStrategy;
  readonly logger: Logger;
  /** Where lifecycle transitions are reported (events, metrics); absent in bare unit setups. */
  readonly lifecycle?: SessionLifecycle;
}

/** A new identity decided during the request and written at commit. */
export interface PendingIdentity {
  readonly storeId: string;
  readonly handle: string;
  readonly credential: string;
}

/**
 * The mutable state behind one UserSession during one request. Kept apart from the public class
 * so that the commit step can read it without widening the public API.
 */
export class SessionState {
  storeId: string | null;
  handle: string;
  userId: string | null;
  createdAt: number;
  absoluteDeadline: number;
  lastAccessAt: number;
  userAgent: string | null;
  strategy: SessionStrategy;
  /** Set when the request came with a rotated-away credential (see StoredSession.retiredUntil): read-only. */
  readonly retired: boolean;
  /**
   * Data key -> JSON text, including this request's changes. The loaded record's own map until
   * the request first changes a key (see editValues): a near-cache entry serves many requests,
   * and most of them only read.
   */
  private data: ReadonlyMap<string, string>;
  private ownsData: boolean;
  /** This request's pending changes, made on its first write: a read-only request allocates neither. */
  private sets: Map<string, string> | null = null;
  private deletes: Set<string> | null = null;
  rotateTo: PendingIdentity | null = null;
  /** Another user's session that logIn() replaced: destroyed at commit. */
  dropPrevious: string | null = null;
  /** The user of the session `dropPrevious` names (for its `session.destroyed` event). */
  droppedUserId: string | null = null;
  destroyed = false;
  committed = false;
  /**
   * GraphQL resolvers of this request between their commit interceptor's entry and exit: the last
   * to leave commits (graphql/). The response hook of `commit: 'on-send'` leaves such a session to
   * them: GraphQL may answer before every field has finished (a failed non-null field).
   */
  resolversRunning = 0;
  /** When this request picked up the session (epoch ms): a sign-in it saves must not survive a
   * "sign out everywhere" that ran after this (see NewSession.notRevokedSince). */
  readonly startedAt = Date.now();

  constructor(
    readonly backend: SessionBackend,
    init: { stored: StoredSession; strategy: SessionStrategy } | { handle: string; userAgent: string | null },
  ) {
    if ('stored' in init) {
      const { stored } = init;
      this.storeId = stored.storeId;
      this.handle = stored.handle;
      this.userId = stored.userId;
      this.createdAt = stored.createdAt;
      this.absoluteDeadline = stored.absoluteDeadline;
      this.lastAccessAt = stored.lastAccessAt;
      this.userAgent = stored.userAgent;
      this.data = stored.data;
      this.ownsData = false;
      this.strategy = init.strategy;
      this.retired = stored.retiredUntil !== undefined;
    } else {
      const now = Date.now();
      this.storeId = null;
      this.handle = init.handle;
      this.userId = null;
      this.createdAt = now;
      this.absoluteDeadline = now + backend.options.absoluteMs;
      this.lastAccessAt = now;
      this.userAgent = init.userAgent;
      this.data = new Map();
      this.ownsData = true;
      this.strategy = backend.issuer;
      this.retired = false;
    }
  }

  /** Starts over as a brand-new session (logIn() of a different user). */
  reset(): void {
    const now = Date.now();
    this.dropPrevious = this.storeId;
    this.droppedUserId = this.userId;
    this.storeId = null;
    this.userId = null;
    this.createdAt = now;
    this.absoluteDeadline = now + this.backend.options.absoluteMs;
    this.lastAccessAt = now;
    this.data = new Map();
    this.ownsData = true;
    this.clearDelta();
    this.strategy = this.backend.issuer;
  }

  get values(): ReadonlyMap<string, string> {
    return this.data;
  }

  /** The data to change, copied from the loaded record the first time. */
  editValues(): Map<string, string> {
    if (!this.ownsData) {
      this.data = new Map(this.data);
      this.ownsData = true;
    }
    return this.data as Map<string, string>;
  }

  /** Keys to write at commit. */
  get changes(): ReadonlyMap<string, string> {
    return this.sets ?? NO_SETS;
  }

  /** Keys to delete at commit. */
  get removals(): ReadonlySet<string> {
    return this.deletes ?? NO_DELETES;
  }

  /** Records `key` to be written at commit (and no longer deleted). */
  pendSet(key: string, json: string): void {
    (this.sets ??= new Map()).set(key, json);
    this.deletes?.delete(key);
  }

  /** Records `key` to be deleted at commit (and no longer written). */
  pendDelete(key: string): void {
    this.sets?.delete(key);
    (this.deletes ??= new Set()).add(key);
  }

  /** Forgets the pending changes (saved, or replaced by a new session). */
  clearDelta(): void {
    this.sets = null;
    this.deletes = null;
  }

  hasDelta(): boolean {
    return (this.sets !== null && this.sets.size > 0) || (this.deletes !== null && this.deletes.size > 0);
  }
}

const NO_SETS: ReadonlyMap<string, string> = new Map();
const NO_DELETES: ReadonlySet<string> = new Set();
