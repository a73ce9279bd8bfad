import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { randomToken, sha256Base64Url } from '../crypto.util.js';
import type { ResolvedSessionOptions } from '../options/resolved-options.js';
import type { RedisConnection } from '../redis/redis-client.factory.js';
import { SESSION_REDIS_CONNECTION, SESSION_RESOLVED_OPTIONS } from '../session.internal-constants.js';
import { endedChannel } from '../store/redis-schema.js';

/**
 * A session that ended: by its store id's digest (destroyed or rotated away), by handle (revoked
 * from "your sessions"), or every session of a user but one (sign out everywhere else).
 */
export type SessionEnded =
  | { readonly kind: 'session'; readonly digest: string; readonly reason: 'destroyed' | 'rotated' }
  | { readonly kind: 'handle'; readonly userId: string; readonly handle: string }
  | { readonly kind: 'user'; readonly userId: string; readonly except: string | null };

export type SessionEndedListener = (event: SessionEnded) => void;

/**
 * What the Pub/Sub channel carries for a store id: its SHA-256, so the channel never shows a
 * credential (a session-id store id is one).
 */
export const storeIdDigest = (storeId: string): string => sha256Base64Url(storeId);

const MAX_MESSAGE = 1024;

/**
 * Tells every app instance that a session ended, so each can close that session's open sockets.
 * Listeners in this process hear at once; other instances through a Redis Pub/Sub channel under the
 * key prefix. Only instances with a listener (a gateway) open the subscriber connection.
 * Delivery is best effort: a message lost while Redis is unreachable is caught by the per-message
 * session check instead.
 */
@Injectable()
export class SessionEndedBus implements OnApplicationShutdown {
  private readonly logger = new Logger('SessionEvents');
  private readonly listeners = new Set<SessionEndedListener>();
  /** Tags our own messages, which we already delivered locally. */
  private readonly origin = randomToken(9);
  private readonly channel: string;
  private subscriber: Redis | Cluster | null = null;

  constructor(
    @Inject(SESSION_REDIS_CONNECTION) private readonly connection: RedisConnection | null,
    @Inject(SESSION_RESOLVED_OPTIONS) options: ResolvedSessionOptions,
  ) {
    this.channel = endedChannel(options.keyPrefix);
  }

  /** Announces an ended session here and to the other instances. Never throws. */
  publish(event: SessionEnded): void {
    this.deliver(event);
    const client = this.connection?.client;
    if (!client) return;
    // Not awaited: the request that ended the session does not wait for the other instances.
    client.publish(this.channel, JSON.stringify({ ...event, origin: this.origin })).catch((error: Error) => {
      this.logger.warn(`Could not announce an ended session: ${error.message}`);
    });
  }

  /** Calls `listener` for every ended session, here or on another instance; returns the unsubscribe. */
  listen(listener: SessionEndedListener): () => void {
    this.listeners.add(listener);
    this.subscribe();
    return () => {
      this.listeners.delete(listener);
    };
  }

  async onApplicationShutdown(): Promise<void> {
    this.listeners.clear();
    const subscriber = this.subscriber;
    this.subscriber = null;
    if (!subscriber) return;
    await subscriber.quit().catch(() => subscriber.disconnect());
  }

  private subscribe(): void {
    const client = this.connection?.client;
    if (!client || this.subscriber) return;
    // lazyConnect off: an app-provided client may be lazy, and nothing else would connect this one.
    const subscriber: Redis | Cluster = client.isCluster
      ? (client as Cluster).duplicate([], { lazyConnect: false })
      : (client as Redis).duplicate({ connectionName: 'nestjs-redis-session:ended', autoResubscribe: false, lazyConnect: false });
    this.subscriber = subscriber;
    subscriber.on('error', (error: Error) => this.logger.warn(`Session events connection: ${error.message}`));
    // Subscribed on every (re)connect rather than relying on autoResubscribe, which only repeats a
    // SUBSCRIBE that once succeeded.
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).catch((error: Error) => this.logger.warn(`Session events: ${error.message}`));
    });
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const event = parseEvent(message);
      if (event && event.origin !== this.origin) this.deliver(event.event);
    });
  }

  private deliver(event: SessionEnded): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error(`A session-ended listener failed: ${(error as Error).message}`);
      }
    }
  }
}

/** Reads a channel message; anything malformed is ignored (whoever can publish can also delete keys). */
function parseEvent(message: string): { origin: string; event: SessionEnded } | null {
  if (message.length > MAX_MESSAGE) return null;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(message) as Record<string, unknown>;
  } catch {
    return null;
  }
  const text = (key: string): string | null => (typeof value?.[key] === 'string' ? (value[key] as string) : null);
  const origin = text('origin');
  if (origin === null) return null;
  const kind = text('kind');
  const userId = text('userId');
  if (kind === 'session' && text('digest') !== null) {
    const reason = text('reason') === 'rotated' ? 'rotated' : 'destroyed';
    return { origin, event: { kind, digest: text('digest')!, reason } };
  }
  if (kind === 'handle' && userId !== null && text('handle') !== null) {
    return { origin, event: { kind, userId, handle: text('handle')! } };
  }
  if (kind === 'user' && userId !== null) return { origin, event: { kind, userId, except: text('except') } };
  return null;
}
