/**
 * The apps that bench/profile.ts, bench/allocations.ts and bench/instructions.ts compare on GET /me
 * (bench/paired.ts uses `ours`), as bench/apps/main.ts env, and the loop that measures them all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startRedisServer } from '../../test/support/redis-server.js';
import { signIn, type Credential } from './load.js';

export type Adapter = 'express' | 'fastify';

export interface AppSetup {
  readonly label: string;
  readonly env: Record<string, string>;
}

/**
 * Ours with the session-id strategy, with or without the near-cache, under a commit mode named
 * explicitly ('on-send' is what the default, 'auto', comes to in these apps: no gateways or resolvers).
 */
export const ours = (cache: boolean, commit: 'interceptor' | 'on-send'): Record<string, string> => ({
  BENCH_STACK: 'ours',
  BENCH_STRATEGY: 'session-id',
  BENCH_CACHE: cache ? '1' : '0',
  BENCH_COMMIT: commit,
});

/**
 * The floor of a session layer shaped like ours with on-send: Nest calling a guard that answers at
 * once and a custom parameter, neither doing anything, on requests that carry a cookie like ours.
 */
export const SESSION_SHAPE_FLOOR: AppSetup = { label: 'floor: no-op sync guard + no-op parameter, cookie sent', env: { BENCH_STACK: 'nest-floor', BENCH_FLOOR: 'session-shape' } };

/**
 * The headers each app's reads carry: none for bare; for the floor, a cookie the size of ours
 * (`sid=` and 32 characters), as a browser holding a session would send to an app that ignores it;
 * for the session stacks, the credentials of `sessions` signed-in sessions.
 */
export async function readCredentials(env: Record<string, string>, url: string, sessions: number): Promise<Credential[]> {
  if (env.BENCH_STACK === 'bare') return [{}];
  if (env.BENCH_STACK === 'nest-floor') {
    return env.BENCH_FLOOR === 'session-shape' ? Array.from({ length: sessions }, () => ({ cookie: `sid=${randomBytes(24).toString('base64url')}` })) : [{}];
  }
  return signIn(url, sessions, false);
}

/** Where readPathApps puts the app the reports single out: ours with the near-cache, on send (the default here). */
export const OURS_POSITION = 2;

/** Bare first: every figure is read against it. */
export const readPathApps = (adapter: Adapter): readonly AppSetup[] => [
  { label: 'bare', env: { BENCH_STACK: 'bare' } },
  SESSION_SHAPE_FLOOR,
  { label: "ours + near-cache, commit: 'on-send'", env: ours(true, 'on-send') },
  { label: 'ours + near-cache (interceptor)', env: ours(true, 'interceptor') },
  { label: 'ours, no near-cache (interceptor)', env: ours(false, 'interceptor') },
  adapter === 'express'
    ? { label: 'express-session + connect-redis', env: { BENCH_STACK: 'express-session' } }
    : { label: '@fastify/session + connect-redis', env: { BENCH_STACK: 'fastify-session' } },
];

export interface ReadPathReport<T> {
  readonly adapters: readonly Adapter[];
  /** The report's first lines. */
  readonly header: readonly string[];
  /** Measures one app; `dir` is a scratch folder for its files, `position` its place in readPathApps. */
  readonly measure: (adapter: Adapter, setup: AppSetup, redisUrl: string, dir: string, position: number) => Promise<T>;
  /** An adapter's lines of the report, from its apps' results in the order of readPathApps. */
  readonly table: (adapter: Adapter, results: readonly T[]) => string[];
  /** The progress line's end for one app (default: "done"). */
  readonly progress?: (result: T) => string;
}

/** Measures every read-path app of each adapter in turn, each on a database of its own in one private Redis; returns the report. */
export async function readPathReport<T>(report: ReadPathReport<T>): Promise<string> {
  const server = await startRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'bench-read-path-'));
  const lines = [...report.header, ''];
  try {
    let database = 0;
    for (const adapter of report.adapters) {
      const results: T[] = [];
      for (const [position, setup] of readPathApps(adapter).entries()) {
        const result = await report.measure(adapter, setup, `${server.url}/${database++}`, dir, position);
        results.push(result);
        process.stdout.write(`${adapter} ${setup.label}: ${report.progress?.(result) ?? 'done'}\n`);
      }
      lines.push(...report.table(adapter, results));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
  return lines.join('\n');
}
