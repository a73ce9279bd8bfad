import { describe, expect, it } from '@jest/globals';
import { categorize, summarize, type CpuProfile } from './cpu-profile.js';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });

describe('categorize', () => {
  const OTHER_STACK = 'express-session or @fastify/session, connect-redis, node-redis';
  it.each([
    ['find', 'file:///w/bench/.build/libs/session/src/store/x.js', 'this library'],
    ['tryActivate', 'file:///w/node_modules/@nestjs/core/guards/guards-consumer.js', 'Nest (@nestjs/*)'],
    ['mergeAll', 'file:///w/node_modules/rxjs/dist/cjs/x.js', 'rxjs (Nest interceptors)'],
    ['parse', 'file:///w/node_modules/@ioredis/commands/x.js', 'Redis client (ioredis)'],
    ['get', 'file:///w/node_modules/connect-redis/dist/esm/index.js', OTHER_STACK],
    ['decode', 'file:///w/node_modules/@redis/client/dist/lib/x.js', OTHER_STACK],
    ['session', 'file:///w/node_modules/express-session/index.js', OTHER_STACK],
    ['next', 'file:///w/node_modules/router/index.js', 'HTTP framework and its packages'],
    ['emit', 'node:events', 'Node.js internals (node:*)'],
    ['me', 'file:///w/bench/.build/bench/apps/routes.js', 'the benchmark app'],
    ['writev', '', 'V8 and native code (system calls, builtins)'],
    ['(garbage collector)', '', 'garbage collector'],
    ['(idle)', '', 'idle'],
  ])('%s in %s: %s', (functionName, url, category) => {
    expect(categorize(frame(functionName, url))).toBe(category);
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
