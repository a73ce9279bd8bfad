import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SessionMetrics } from '../metrics/session.metrics.js';
import {
  SESSION_EVENTS,
  type SessionDestroyedEvent,
  type SessionEventMap,
  type SessionExpiredEvent,
  type SessionRevokedEvent,
} from './session-events.js';

/** The part of EventEmitter2 the library uses. */
interface Emitter {
  emit(event: string, ...values: unknown[]): unknown;
}

/** Which session an event is about: its handle and user, never its credential. */
export interface SessionRef {
  readonly handle: string;
  readonly userId: string | null;
}

/**
 * Where the library reports lifecycle transitions: counted as metrics, and emitted as events when
 * the app uses `@nestjs/event-emitter`. That package is an optional peer, so its `EventEmitter2`
 * is looked up at start-up (dynamic import + ModuleRef) instead of being a constructor dependency
 * that would make the library fail to load without it.
 */
@Injectable()
export class SessionLifecycle implements OnModuleInit {
  private readonly logger = new Logger('SessionEvents');
  private emitter: Emitter | null = null;

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly metrics: SessionMetrics,
  ) {}

  async onModuleInit(): Promise<void> {
    this.emitter = await findEventEmitter(this.moduleRef);
  }

  /** Whether events go anywhere (an EventEmitter2 was found). */
  get emitting(): boolean {
    return this.emitter !== null;
  }

  created(session: SessionRef, strategy: string): void {
    this.metrics.created(strategy);
    this.emit(SESSION_EVENTS.created, { ...ref(session), strategy });
  }

  rotated(session: SessionRef, previousHandle: string, strategy: string): void {
    this.emit(SESSION_EVENTS.rotated, { ...ref(session), previousId: previousHandle, strategy });
  }

  destroyed(session: SessionRef, reason: SessionDestroyedEvent['reason']): void {
    this.metrics.revoked(reason);
    this.emit(SESSION_EVENTS.destroyed, { ...ref(session), reason });
  }

  revoked(session: SessionRef, reason: SessionRevokedEvent['reason']): void {
    this.metrics.revoked(reason);
    this.emit(SESSION_EVENTS.revoked, { ...ref(session), reason });
  }

  /** `destroyAllForUser`: `count` sessions ended; `handles` are the ones listed just before. */
  revokedAll(userId: string, handles: readonly string[], count: number): void {
    this.metrics.revoked('all', count);
    for (const handle of handles) this.emit(SESSION_EVENTS.revoked, { ...ref({ handle, userId }), reason: 'all' });
  }

  expired(session: SessionRef, reason: SessionExpiredEvent['reason']): void {
    this.metrics.expired(reason);
    this.emit(SESSION_EVENTS.expired, { ...ref(session), reason });
  }

  private emit<K extends keyof SessionEventMap>(name: K, payload: SessionEventMap[K]): void {
    if (!this.emitter) return;
    try {
      this.emitter.emit(name, payload);
    } catch (error) {
      // A listener's failure is the listener's: it must not fail the request that caused the event.
      this.logger.error(`A listener of ${name} threw: ${(error as Error).message}`);
    }
  }
}

const ref = (session: SessionRef) => ({ id: session.handle, userId: session.userId, at: Date.now() });

async function findEventEmitter(moduleRef: ModuleRef): Promise<Emitter | null> {
  let token: unknown;
  try {
    ({ EventEmitter2: token } = await import('@nestjs/event-emitter'));
  } catch {
    return null; // not installed: events are off, metrics still count
  }
  try {
    return moduleRef.get(token as new () => Emitter, { strict: false });
  } catch {
    return null; // installed but EventEmitterModule.forRoot() not imported
  }
}
