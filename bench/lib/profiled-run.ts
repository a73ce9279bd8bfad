/** Runs one read-path app under bench/apps/profiler-hook.ts: warm-up, then load while profiled. For bench/profile.ts and bench/allocations.ts. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApp } from './app-process.js';
import { runLoad } from './load.js';
import { readCredentials, type Adapter, type AppSetup } from './read-path-apps.js';

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

/** `out`: where the app writes its profile. GET /me for `seconds` once warm; any non-2xx answer fails the run. */
export async function profiledRun(adapter: Adapter, setup: AppSetup, redisUrl: string, out: string, kind: 'cpu' | 'heap', seconds: number): Promise<ProfiledRun> {
  const app = await startApp({ ...setup.env, BENCH_ADAPTER: adapter, REDIS_URL: redisUrl, PROFILE_OUT: out, PROFILE_KIND: kind }, ['--import', HOOK]);
  try {
    const credentials = await readCredentials(setup.env, app.url, SESSIONS);
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
