/** The `durability` option: validation messages and the resolved shape. */
import { describe, expect, it } from '@jest/globals';
import { SessionConfigError } from '../session.errors.js';
import { resolveSessionOptions } from './resolved-options.js';
import type { SessionModuleOptions } from './session-options.interface.js';

const redis = { url: 'redis://127.0.0.1:7000' };

function problems(options: Record<string, unknown>): string[] {
  try {
    resolveSessionOptions(options as SessionModuleOptions);
  } catch (error) {
    if (error instanceof SessionConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('durability option', () => {
  it('is off by default', () => {
    expect(resolveSessionOptions({ redis }).durability).toBeNull();
  });

  it('resolves { replicas, timeoutMs }, writes off unless asked for', () => {
    expect(resolveSessionOptions({ redis, durability: { replicas: 1, timeoutMs: 200 } }).durability).toEqual({
      replicas: 1,
      timeoutMs: 200,
      writes: false,
    });
    expect(resolveSessionOptions({ redis, durability: { replicas: 2, timeoutMs: 100, writes: true } }).durability).toEqual({
      replicas: 2,
      timeoutMs: 100,
      writes: true,
    });
  });

  it('refuses bad values, unknown keys and the memory store, naming each', () => {
    expect(problems({ redis, durability: { replicas: 0, timeoutMs: -1, wait: true, writes: 'yes' } })).toEqual([
      'durability.wait is not a known option (known: replicas, timeoutMs, writes)',
      'durability.writes must be true or false (got "yes")',
      'durability.replicas must be a positive integer (got 0)',
      'durability.timeoutMs must be a positive integer of milliseconds (got -1)',
    ]);
    expect(problems({ redis, durability: 2 })).toEqual(['durability must be { replicas, timeoutMs, writes? } (got 2)']);
    expect(problems({ store: 'memory', durability: { replicas: 1, timeoutMs: 100 } })).toEqual([
      "durability needs the Redis store (store is 'memory')",
    ]);
  });

  it('refuses durable writes on Cluster, where WAIT cannot be tied to the write, and keeps durable sign-outs there', () => {
    const cluster = { cluster: { nodes: [{ host: '127.0.0.1', port: 7000 }] } };
    expect(problems({ redis: cluster, durability: { replicas: 1, timeoutMs: 200, writes: true } })).toEqual([
      'durability.writes is not supported on Redis Cluster (WAIT must reach the connection that carried the write, ' +
        'and a slot can move to another node in between); remove it, or use a standalone/Sentinel Redis (sign-outs stay durable without it)',
    ]);
    expect(problems({ redis: cluster, durability: { replicas: 1, timeoutMs: 200, writes: false } })).toEqual([]);
  });

  it('refuses a WAIT timeout that the command timeout would cut short', () => {
    expect(problems({ redis, durability: { replicas: 1, timeoutMs: 1000 } })).toEqual([
      'durability.timeoutMs must be below the Redis commandTimeout (1000 ms), or WAIT itself times out (got 1000)',
    ]);
    expect(problems({ redis: { ...redis, options: { commandTimeout: 3000 } }, durability: { replicas: 1, timeoutMs: 2000 } })).toEqual([]);
    expect(
      problems({
        redis: { cluster: { nodes: [{ host: '127.0.0.1', port: 7000 }], options: { redisOptions: { commandTimeout: 500 } } } },
        durability: { replicas: 1, timeoutMs: 500 },
      }),
    ).toEqual(['durability.timeoutMs must be below the Redis commandTimeout (500 ms), or WAIT itself times out (got 500)']);
  });
});
