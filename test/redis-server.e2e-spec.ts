/**
 * Tests of the private redis-server helper itself: the storage tests rely on it to crash, hang
 * and restart Redis, so those abilities are checked against a real process here.
 */
import { connect } from 'node:net';
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import type { Redis } from 'ioredis';
import {
  allKeysAndValues,
  redisClientFor,
  startRedisServer,
  type RedisServerHandle,
} from './support/redis-server.js';

/** Resolves with the socket error code, or 'connected' if something accepted the connection. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Runs `body` with a fresh client and always disconnects it, so Jest has no open handles. */
async function withClient<T>(
  server: RedisServerHandle,
  body: (client: Redis) => Promise<T>,
  options?: Parameters<typeof redisClientFor>[1],
): Promise<T> {
  const client = await redisClientFor(server, options);
  try {
    return await body(client);
  } finally {
    client.disconnect();
  }
}

describe('startRedisServer', () => {
  let server: RedisServerHandle;

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--maxmemory', '16mb'] });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('starts a private server on a loopback port other than 6379 that answers PING', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).not.toBe(6379);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    await withClient(server, async (client) => {
      expect(await client.ping()).toBe('PONG');
      // It is our process (not some other Redis) and it got the caller's extra args.
      expect(await client.info('server')).toContain(`process_id:${server.pid}`);
      expect(await client.config('GET', 'maxmemory')).toEqual(['maxmemory', String(16 * 1024 * 1024)]);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
    });
  });

  it('lists every key with its type, TTL and content', async () => {
    await withClient(server, async (client) => {
      await client.flushdb();
      await client.set('s', 'secret-token', 'PX', 60_000);
      await client.hset('h', { field: 'hash-token' });
      await client.zadd('z', 42, 'zset-token');
      await client.sadd('set', 'set-token');
      await client.rpush('l', 'a', 'list-token');

      const entries = await allKeysAndValues(client);

      expect(entries.map(({ key, type, dump }) => ({ key, type, dump }))).toEqual([
        { key: 'h', type: 'hash', dump: 'field hash-token' },
        { key: 'l', type: 'list', dump: 'a list-token' },
        { key: 's', type: 'string', dump: 'secret-token' },
        { key: 'set', type: 'set', dump: 'set-token' },
        { key: 'z', type: 'zset', dump: 'zset-token 42' },
      ]);
      const ttl = entries.find((e) => e.key === 's')?.ttlMs ?? 0;
      expect(ttl).toBeGreaterThan(50_000);
      expect(entries.find((e) => e.key === 'h')?.ttlMs).toBe(-1);
      await client.flushdb();
    });
  });

  it('pause makes commands time out and resume makes them work again', async () => {
    await withClient(
      server,
      async (client) => {
        server.pause();
        try {
          await expect(client.ping()).rejects.toThrow(/timed out/i);
        } finally {
          server.resume();
        }
        expect(await client.ping()).toBe('PONG');
      },
      { commandTimeout: 300 },
    );
  });

  it('fails clearly, naming the port, when the requested port is taken', async () => {
    await expect(startRedisServer({ port: server.port })).rejects.toThrow(
      new RegExp(`port ${server.port} exited before answering:[\\s\\S]*Address already in use`),
    );
  });

  it('kill9 then restart gives an empty server on the same port', async () => {
    const { port, pid } = server;
    await withClient(server, (client) => client.set('survives?', 'no'));

    await server.kill9();
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    await server.restart();

    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(pid);
    await withClient(server, async (client) => {
      expect(await client.ping()).toBe('PONG');
      expect(await client.dbsize()).toBe(0);
    });
  });
});

describe('RedisServerHandle.stop', () => {
  it('stops the process so the port refuses connections', async () => {
    const server = await startRedisServer();
    expect(await tryConnect(server.port)).toBe('connected');

    await server.stop();

    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
    expect(() => process.kill(server.pid, 0)).toThrow(); // no such process any more
  });

  it('stops a paused server too', async () => {
    const server = await startRedisServer();
    server.pause();
    await server.stop();
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
  });
});

describe('startRedisServer without redis-server', () => {
  it('says how to install it', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent'; // Jest's per-file copy of the environment
    try {
      await expect(startRedisServer()).rejects.toThrow(
        'redis-server is not on PATH: install Redis 7 (apt-get install -y redis-server) to run the storage tests',
      );
    } finally {
      process.env.PATH = path;
    }
  });
});
