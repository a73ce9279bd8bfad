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
  it('builds a client with bounded timeouts and auto-pipelining off', () => {
    const client = built(createRedisConnection({ url: 'redis://127.0.0.1:1', options: lazy })) as Redis;
    expect(client.options).toMatchObject({ enableAutoPipelining: false, commandTimeout: 1000, socketTimeout: 2000 });
  });

  it('lets the app turn auto-pipelining on', () => {
    const client = built(createRedisConnection({ url: 'redis://127.0.0.1:1', options: { ...lazy, enableAutoPipelining: true } })) as Redis;
    expect(client.options.enableAutoPipelining).toBe(true);
  });

  it('keeps socketTimeout at twice a commandTimeout the app chose, on Sentinel too', () => {
    const own = { ...lazy, commandTimeout: 300 };
    const plain = built(createRedisConnection({ host: '127.0.0.1', port: 1, options: own })) as Redis;
    const sentinel = built(createRedisConnection({ sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'mymaster', options: own })) as Redis;
    expect(plain.options).toMatchObject({ commandTimeout: 300, socketTimeout: 600 });
    expect(sentinel.options).toMatchObject({ commandTimeout: 300, socketTimeout: 600 });
  });

  it('gives a Cluster the bounded node options and its own offline queue', () => {
    const cluster = built(createRedisConnection({ cluster: { nodes: [{ host: '127.0.0.1', port: 1 }], options: lazy } })) as Cluster;
    expect(cluster.options).toMatchObject({ enableOfflineQueue: true, enableAutoPipelining: false });
    expect(cluster.options.redisOptions).toMatchObject({ commandTimeout: 1000, socketTimeout: 2000 });
  });

  it('leaves a client the app passes in exactly as it is', () => {
    const own = built(createRedisConnection({ url: 'redis://127.0.0.1:1', options: { ...lazy, enableAutoPipelining: true } }));
    const connection = createRedisConnection({ client: own });
    expect(connection).toEqual({ client: own, owned: false });
    expect((own as Redis).options.enableAutoPipelining).toBe(true);
  });
});
