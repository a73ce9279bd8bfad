import { describe, expect, it } from '@jest/globals';
import { categorize, summarize, type CpuProfile } from './cpu-profile.js';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });

describe('categorize', () => {
  it('sorts frames by what the code belongs to', () => {
    expect(categorize(frame('find', 'file:///w/bench/.build/libs/session/src/store/x.js'))).toBe('this library');
    expect(categorize(frame('tryActivate', 'file:///w/node_modules/@nestjs/core/guards/guards-consumer.js'))).toBe('Nest (@nestjs/*)');
    expect(categorize(frame('mergeAll', 'file:///w/node_modules/rxjs/dist/cjs/x.js'))).toBe('rxjs (Nest interceptors)');
    expect(categorize(frame('parse', 'file:///w/node_modules/@ioredis/commands/x.js'))).toBe('Redis client (ioredis)');
    expect(categorize(frame('next', 'file:///w/node_modules/router/index.js'))).toBe('HTTP framework and its packages');
    expect(categorize(frame('get', 'file:///w/node_modules/connect-redis/dist/esm/index.js'))).toBe('express-session or @fastify/session, connect-redis, node-redis');
    expect(categorize(frame('decode', 'file:///w/node_modules/@redis/client/dist/lib/x.js'))).toBe('express-session or @fastify/session, connect-redis, node-redis');
    expect(categorize(frame('session', 'file:///w/node_modules/express-session/index.js'))).toBe('express-session or @fastify/session, connect-redis, node-redis');
    expect(categorize(frame('emit', 'node:events'))).toBe('Node.js internals (node:*)');
    expect(categorize(frame('me', 'file:///w/bench/.build/bench/apps/routes.js'))).toBe('the benchmark app');
    expect(categorize(frame('writev', ''))).toBe('V8 and native code (system calls, builtins)');
    expect(categorize(frame('(garbage collector)', ''))).toBe('garbage collector');
    expect(categorize(frame('(idle)', ''))).toBe('idle');
  });
});

describe('summarize', () => {
  it('adds self time per category and library function, per request, idle left out', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(idle)', '') },
        { id: 2, callFrame: frame('find', 'file:///w/libs/session/src/store/a.js') },
        { id: 3, callFrame: frame('lookup', 'file:///w/libs/session/src/cache/b.js') },
        { id: 4, callFrame: frame('next', 'file:///w/node_modules/router/index.js') },
      ],
      samples: [1, 2, 3, 3, 4, 2],
      timeDeltas: [500, 100, 100, 100, 300, 100],
    };
    const summary = summarize(profile, 2);
    // Each sample counts until the next: idle 100, find 100, lookup 100 + 300, router 100, the last find 0.
    expect(summary.busyUs).toBe(300);
    expect(summary.byCategory.get('this library')).toBe(250);
    expect(summary.byCategory.get('HTTP framework and its packages')).toBe(50);
    expect(summary.byCategory.get('garbage collector')).toBe(0);
    expect(summary.libraryFunctions).toEqual([
      ['lookup (src/cache/b.js:10)', 200],
      ['find (src/store/a.js:10)', 50],
    ]);
  });
});
