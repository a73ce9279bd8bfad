/** Runs the read-path apps under bench/apps/profiler-hook.ts: warm-up, then load while profiled. For bench/profile.ts and bench/allocations.ts. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApp } from './app-process.js';
import { runLoad, signIn } from './load.js';
import { readPathApps, type Adapter, type AppSetup } from './read-path-apps.js';
import { startRedisServer } from '../../test/support/redis-server.js';

const HOOK = join(dirname(fileURLToPath(import.meta.url)), '..', 'apps', 'profiler-hook.js');
const WARMUP_SECONDS = 3;
const CONNECTIONS = 32;
const SESSIONS = 100;

export const PROFILED_LOAD = `${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up`;

export interface ProfiledRun {
  readonly rps: number;
  readonly requests: number;
  /** The profile as the hook wrote it: a CPU profile or a sampling heap profile, by `kind`. */
  readonly profile: unknown;
}

/** One app. `out`: where the app writes its profile. GET /me for `seconds` once warm; any non-2xx answer fails the run. */
async function profiledRun(adapter: Adapter, setup: AppSetup, redisUrl: string, out: string, kind: 'cpu' | 'heap', seconds: number): Promise<ProfiledRun> {
  const app = await startApp({ ...setup.env, BENCH_ADAPTER: adapter, REDIS_URL: redisUrl, PROFILE_OUT: out, PROFILE_KIND: kind }, ['--import', HOOK]);
  try {
    const credentials = setup.env.BENCH_STACK === 'bare' ? [{}] : await signIn(app.url, SESSIONS, false);
    const load = (duration: number) => runLoad({ url: app.url, connections: CONNECTIONS, seconds: duration, credentials, path: 'read' });
    await load(WARMUP_SECONDS);
    await app.signal('SIGWINCH', 'PROFILING');
    const result = await load(seconds);
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${adapter} ${setup.label}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    await app.signal('SIGWINCH', null);
    return { rps: result.rps, requests: result.requests, profile: JSON.parse(readFileSync(out, 'utf8')) as unknown };
  } finally {
    await app.stop();
  }
}

export interface ProfiledSeries<T> {
  readonly adapters: readonly Adapter[];
  readonly kind: 'cpu' | 'heap';
  readonly seconds: number;
  /** The report's first line. */
  readonly header: string;
  /** What a run is reduced to, as soon as it is done (profiles are large). */
  readonly reduce: (setup: AppSetup, run: ProfiledRun) => T;
  /** An adapter's lines of the report, from its apps' results in the order of readPathApps. */
  readonly table: (adapter: Adapter, results: readonly T[]) => string[];
}

/** Profiles every read-path app of each adapter in turn, each on a database of its own in one private Redis; returns the report. */
export async function profileReadPathApps<T>(series: ProfiledSeries<T>): Promise<string> {
  const server = await startRedisServer();
  const dir = mkdtempSync(join(tmpdir(), `bench-${series.kind}-profile-`));
  const lines = [series.header, ''];
  try {
    let database = 0;
    for (const adapter of series.adapters) {
      const results: T[] = [];
      for (const [position, setup] of readPathApps(adapter).entries()) {
        const out = join(dir, `${adapter}-${position}.${series.kind}profile`);
        results.push(series.reduce(setup, await profiledRun(adapter, setup, `${server.url}/${database++}`, out, series.kind, series.seconds)));
        process.stdout.write(`${adapter} ${setup.label}: profiled\n`);
      }
      lines.push(...series.table(adapter, results));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
  return lines.join('\n');
}
