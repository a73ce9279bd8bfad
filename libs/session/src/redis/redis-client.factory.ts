import { Logger } from '@nestjs/common';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { SessionRedisOptions } from '../options/session-options.interface.js';

/** The connection and whether the module created it (only then does the module close it). */
export interface RedisConnection {
  readonly client: Redis | Cluster;
  readonly owned: boolean;
}

/**
 * Bounded defaults: a request fails within about a second with a 503 instead of hanging while
 * Redis is down or hung (ioredis' own defaults wait 10 s to forever), and a node that turned into a
 * replica (READONLY after a failover) triggers a reconnect to the new master.
 *
 * Reconnect attempts back off to at most 500 ms: the fault drills measured the first success
 * 0.1-0.6 s after Redis (or the promoted replica) was back, against 0.8-1.2 s with a 2 s cap.
 */
export const RECOMMENDED_REDIS_OPTIONS: RedisOptions = {
  commandTimeout: 1000,
  /**
   * A server that stops answering while the connection stays open (frozen, or cut off by a
   * partition) is left after 2 s of silence: commandTimeout only fails the commands. Without it the
   * split-brain drill stayed on a Sentinel master that had been promoted away, and when that master
   * came back it served revoked sessions and lost acknowledged writes for 10 s, until Sentinel
   * demoted it. Twice the command timeout (kept so when an app changes that: withSocketTimeout).
   */
  socketTimeout: 2000,
  connectTimeout: 3000,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: true,
  retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 500),
  reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
  /**
   * Connecting to a server that is still loading its dataset, ioredis waits for the server's own
   * estimate (often tens of seconds early in a load) up to this cap before it checks again: the
   * drill measured 8.5 s of 503 after the load ended with ioredis' 10 s default, 0.16 s with this.
   */
  maxLoadingRetryTime: 500,
  /**
   * Off (ioredis' default), although it about halves Redis CPU per request on the benchmark: with
   * it on, 1000 requests waiting on a hung Redis answered 503 after up to 2.07 s (1.34-1.83 s
   * without), signed-in sessions vanished in a Sentinel failover, and a Cluster answered 503s while
   * slots moved. README "Performance" has the figures; an app may still turn it on (standalone).
   */
  enableAutoPipelining: false,
};

const RECOMMENDED_CLUSTER_OPTIONS: ClusterOptions = {
  // Must sit on the Cluster options: inside redisOptions it is ignored for the cluster's own queue.
  enableOfflineQueue: true,
  maxRedirections: 16,
  retryDelayOnFailover: 200,
  retryDelayOnClusterDown: 200,
  redisOptions: RECOMMENDED_REDIS_OPTIONS,
};

const logger = new Logger('SessionRedis');

export function createRedisConnection(options: SessionRedisOptions): RedisConnection {
  if ('client' in options) return { client: options.client, owned: false };
  const client = build(options);
  let lastLogged = 0;
  // Without a listener ioredis reports "Unhandled error event"; one line per 5 s is enough.
  client.on('error', (error: Error) => {
    if (Date.now() - lastLogged > 5000) {
      lastLogged = Date.now();
      logger.error(`Redis connection error: ${error.message}`);
    }
  });
  return { client, owned: true };
}

function build(options: Exclude<SessionRedisOptions, { client: unknown }>): Redis | Cluster {
  if ('cluster' in options) {
    const extra = options.cluster.options ?? {};
    return new Cluster(options.cluster.nodes, {
      ...RECOMMENDED_CLUSTER_OPTIONS,
      ...extra,
      redisOptions: withSocketTimeout({ ...RECOMMENDED_REDIS_OPTIONS, ...extra.redisOptions }, extra.redisOptions),
    });
  }
  const base = withSocketTimeout({ ...RECOMMENDED_REDIS_OPTIONS, ...options.options }, options.options);
  // Validated before the client is made: an undefined url never reaches here.
  if ('url' in options) return new Redis(options.url as string, base);
  if ('sentinels' in options) {
    const { sentinels, name, password, sentinelPassword, db } = options;
    return new Redis({ ...base, sentinels, name, password, sentinelPassword, db });
  }
  const { host, port, username, password, db, tls } = options;
  return new Redis({ ...base, host, port, username, password, db, tls: tls === true ? {} : tls || undefined });
}

/** An app that raised commandTimeout without choosing a socketTimeout keeps the 2:1 ratio. */
function withSocketTimeout(merged: RedisOptions, own: RedisOptions | undefined): RedisOptions {
  if (own?.socketTimeout !== undefined || own?.commandTimeout === undefined) return merged;
  return { ...merged, socketTimeout: own.commandTimeout * 2 };
}
