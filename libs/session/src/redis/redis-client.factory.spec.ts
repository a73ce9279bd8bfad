import { afterEach, describe, expect, it } from '@jest/globals';
import type { Cluster, Redis } from 'ioredis';
import { createRedisConnection } from './redis-client.factory.js';

// lazyConnect: these only read the options the clients were built with; nothing connects.
const lazy = { lazyConnect: true };

function built(connection: { client: Redis | Cluster }): Redis | Cluster {
  const client = connection.client;
  clients.push(client);
  return client;
}
const clients: Array<Redis | Cluster> = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

describe('createRedisConnection', () => {
  it('turns on auto-pipelining and bounded timeouts for a client it builds', () => {
    const client = built(createRedisConnection({ url: 'redis://127.0.0.1:1', options: lazy })) as Redis;
    expect(client.options).toMatchObject({ enableAutoPipelining: true, commandTimeout: 1000, socketTimeout: 2000 });
  });

  it('lets the app turn auto-pipelining off', () => {
    const client = built(createRedisConnection({ url: 'redis://127.0.0.1:1', options: { ...lazy, enableAutoPipelining: false } })) as Redis;
    expect(client.options.enableAutoPipelining).toBe(false);
  });

  it('keeps socketTimeout at twice a commandTimeout the app chose', () => {
    const client = built(createRedisConnection({ host: '127.0.0.1', port: 1, options: { ...lazy, commandTimeout: 300 } })) as Redis;
    expect(client.options).toMatchObject({ commandTimeout: 300, socketTimeout: 600 });
  });

  it('leaves auto-pipelining off on Sentinel, where sessions vanished in a failover with it on', () => {
    const own = { ...lazy, commandTimeout: 400 };
    const client = built(createRedisConnection({ sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'mymaster', options: own })) as Redis;
    expect(client.options).toMatchObject({ enableAutoPipelining: false, commandTimeout: 400, socketTimeout: 800 });
  });

  it('leaves auto-pipelining off on a Cluster, where it broke MOVED/ASK handling during resharding', () => {
    const cluster = built(createRedisConnection({ cluster: { nodes: [{ host: '127.0.0.1', port: 1 }], options: lazy } })) as Cluster;
    expect(cluster.options.enableAutoPipelining).toBe(false);
    expect(cluster.options.redisOptions).toMatchObject({ enableAutoPipelining: false, commandTimeout: 1000, socketTimeout: 2000 });
  });

  it('leaves a client the app passes in exactly as it is', () => {
    const own = built(createRedisConnection({ url: 'redis://127.0.0.1:1', options: { ...lazy, enableAutoPipelining: false } }));
    const connection = createRedisConnection({ client: own });
    expect(connection).toEqual({ client: own, owned: false });
    expect((own as Redis).options.enableAutoPipelining).toBe(false);
  });
});
