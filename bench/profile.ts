/**
 * `npm run bench:profile` (about 2 minutes): where a GET /me's CPU goes in each app, from V8's
 * sampling CPU profiler in the app process under load.
 *
 * The HTTP ratios move with this shared host by more than the session layer costs: identical bare
 * processes a minute apart differ by a quarter. A profile is read within one process: the share
 * of its CPU spent in this library, in Nest, in the HTTP framework, moves far less with the host's
 * speed than the whole does. The profiler slows the app (a sample every 100 µs), so the µs per
 * request below are inflated against an unprofiled run; the shares are the figure to compare.
 *
 * Each app (bare; the floor of a layer shaped like ours, a no-op guard and parameter with a cookie
 * sent; ours with the near-cache under either commit mode, ours without it; and
 * express-session or @fastify/session with connect-redis, as in `npm run bench`): started
 * with the profiler hook, 100 sessions signed in, warmed up for 3 s under load, then profiled for
 * PROFILE_SECONDS (6) under the same load (autocannon, 32 connections, in this process).
 *
 * Environment: PROFILE_ADAPTERS (express,fastify), PROFILE_SECONDS (6).
 */
import { join } from 'node:path';
import { CATEGORIES, summarize, type CpuProfile, type ProfileSummary } from './lib/cpu-profile.js';
import { PROFILED_LOAD, profiledRun } from './lib/profiled-run.js';
import { OURS_POSITION, readPathReport, type Adapter } from './lib/read-path-apps.js';

const env = process.env;
const ADAPTERS = (env.PROFILE_ADAPTERS ?? 'express,fastify').split(',') as Adapter[];
const SECONDS = Number(env.PROFILE_SECONDS ?? 6);

interface Profiled {
  readonly label: string;
  readonly rps: number;
  readonly summary: ProfileSummary;
}

const cell = (us: number, busy: number) => `${us.toFixed(1)} (${((us / busy) * 100).toFixed(1)} %)`;

function table(adapter: string, apps: readonly Profiled[]): string[] {
  const [bare] = apps as [Profiled];
  return [
    `**${adapter}**: sampled CPU µs per GET /me (share of the app's busy CPU); req/s while profiled: ${apps.map((a) => Math.round(a.rps).toLocaleString('en-US')).join(', ')}`,
    '',
    `| where | ${apps.map((a) => a.label).join(' | ')} |`,
    `|---|${apps.map(() => '--:').join('|')}|`,
    ...CATEGORIES.map((category) => `| ${category} | ${apps.map((a) => cell(a.summary.byCategory.get(category) ?? 0, a.summary.busyUs)).join(' | ')} |`),
    `| **all busy CPU** | ${apps.map((a) => a.summary.busyUs.toFixed(1)).join(' | ')} |`,
    `| above bare, as a share of bare's | ${apps.map((a) => `${(((a.summary.busyUs - bare.summary.busyUs) / bare.summary.busyUs) * 100).toFixed(1)} %`).join(' | ')} |`,
    '',
    `This library's most expensive functions in "${apps[OURS_POSITION]?.label}" (µs per request):`,
    ...(apps[OURS_POSITION]?.summary.libraryFunctions.slice(0, 12).map(([name, us]) => `- ${us.toFixed(2)} ${name}`) ?? []),
    '',
  ];
}

const report = await readPathReport<Profiled>({
  adapters: ADAPTERS,
  header: [`Node ${process.version}; ${PROFILED_LOAD}, ${SECONDS} s profiled per app, a sample every 100 µs`],
  measure: async (adapter, setup, redisUrl, dir, position) => {
    const run = await profiledRun(adapter, setup, redisUrl, join(dir, `${adapter}-${position}.cpuprofile`), 'cpu', SECONDS);
    return ({ label: setup.label, rps: run.rps, summary: summarize(run.profile as CpuProfile, run.requests) });
  },
  table,
});
process.stdout.write(`\n${report}\n`);
