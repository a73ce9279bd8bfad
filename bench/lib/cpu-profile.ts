/**
 * Where an app's CPU goes, from a V8 CPU profile (the `Profiler.stop` result): self time summed
 * by what the code belongs to, per request. For bench/profile.ts.
 */

export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  /** The node sampled at each tick, and the µs since the tick before (the first: since the start). */
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export const CATEGORIES = [
  'this library',
  'Nest (@nestjs/*)',
  'rxjs (Nest interceptors)',
  'Redis client (ioredis)',
  'express-session or @fastify/session, connect-redis, node-redis',
  'HTTP framework and its packages',
  'Node.js internals (node:*)',
  'garbage collector',
  'V8 and native code (system calls, builtins)',
  'the benchmark app',
] as const;
export type Category = (typeof CATEGORIES)[number];

const OTHER_SESSION_STACK =
  /\/node_modules\/(express-session|@fastify\/session|@fastify\/cookie|connect-redis|redis|@redis\/[^/]+|cookie-signature|uid-safe|random-bytes)\//;
const REDIS_CLIENT = /\/node_modules\/(ioredis|@ioredis\/[^/]+|redis-parser|redis-errors|cluster-key-slot|denque|standard-as-callback)\//;

export function categorize(frame: CpuProfileNode['callFrame']): Category | 'idle' {
  const { url, functionName } = frame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (url.includes('/libs/session/')) return 'this library';
  if (url.includes('/node_modules/@nestjs/')) return 'Nest (@nestjs/*)';
  if (url.includes('/node_modules/rxjs/')) return 'rxjs (Nest interceptors)';
  if (REDIS_CLIENT.test(url)) return 'Redis client (ioredis)';
  if (OTHER_SESSION_STACK.test(url)) return 'express-session or @fastify/session, connect-redis, node-redis';
  if (url.includes('/node_modules/')) return 'HTTP framework and its packages';
  if (url.startsWith('node:')) return 'Node.js internals (node:*)';
  if (url.includes('/bench/')) return 'the benchmark app';
  return 'V8 and native code (system calls, builtins)';
}

export interface ProfileSummary {
  /** Sampled CPU µs per request, idle excluded. */
  readonly busyUs: number;
  readonly byCategory: ReadonlyMap<Category, number>;
  /** This library's functions, µs per request, most expensive first. */
  readonly libraryFunctions: ReadonlyArray<readonly [string, number]>;
}

export function summarize(profile: CpuProfile, requests: number): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byCategory = new Map<Category, number>(CATEGORIES.map((category) => [category, 0]));
  const library = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    // A sample stands for the time until the next one (as Chrome's DevTools count it).
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (!frame) return;
    const category = categorize(frame);
    if (category === 'idle') return;
    busy += us;
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
    if (category === 'this library') {
      const name = `${frame.functionName || '(anonymous)'} (${frame.url.slice(frame.url.indexOf('/libs/session/') + '/libs/session/'.length)}:${frame.lineNumber + 1})`;
      library.set(name, (library.get(name) ?? 0) + us);
    }
  });
  const perRequest = (us: number) => us / requests;
  return {
    busyUs: perRequest(busy),
    byCategory: new Map([...byCategory].map(([category, us]) => [category, perRequest(us)])),
    libraryFunctions: [...library].map(([name, us]) => [name, perRequest(us)] as const).sort((a, b) => b[1] - a[1]),
  };
}
