/**
 * `npm run bench:paired`: the read-path targets against bare, judged round by round.
 *
 * `npm run bench` gives each app's fastest of two 3 s runs, its runs tens of seconds apart from
 * bare's. On a shared 2-core host whose speed wanders by 20-40 % within a minute, that puts the
 * host's drift into every ratio. Here a few apps (bare, an identical second bare, the floor that
 * Nest sets for a session layer of our shape, ours with the near-cache and without it, under either
 * commit mode) are all up at once and take many short
 * turns in alternating order; every round yields one ratio per app against the bare app of the
 * same round, a few seconds apart, and the median over the rounds is the estimate. The second
 * bare app is the control: its ratios to the first show how far this method itself can be off on
 * this host. About 8 minutes.
 *
 * Environment: PAIRED_ROUNDS (10), PAIRED_SECONDS (1.5), PAIRED_ADAPTERS (express,fastify).
 */
import { ours, readCredentials, SESSION_SHAPE_FLOOR } from './lib/read-path-apps.js';
import { listed, runAlternating, type AppVariant, type VariantRuns } from './lib/alternating.js';
import { pairedEstimate } from './lib/paired-rounds.js';
import { startRedisServer } from '../test/support/redis-server.js';

const env = process.env;
const PLAN = { rounds: Number(env.PAIRED_ROUNDS ?? 10), warmupSeconds: 0.5, firstWarmupSeconds: 3, seconds: Number(env.PAIRED_SECONDS ?? 1.5), connections: 32 };
const ADAPTERS = (env.PAIRED_ADAPTERS ?? 'express,fastify').split(',') as Array<'express' | 'fastify'>;
const SESSIONS = 100;

interface Setup {
  readonly label: string;
  readonly env: Record<string, string>;
  /** The target for this app against bare, as a fraction of bare's req/s. */
  readonly target?: Record<'express' | 'fastify', number | undefined>;
}

const SETUPS: readonly Setup[] = [
  { label: 'bare', env: { BENCH_STACK: 'bare' } },
  { label: 'bare again (control)', env: { BENCH_STACK: 'bare' } },
  { label: SESSION_SHAPE_FLOOR.label, env: SESSION_SHAPE_FLOOR.env },
  { label: "ours + near-cache, commit: 'on-send' (the default here)", env: ours(true, 'on-send'), target: { express: 0.95, fastify: 0.7 } },
  { label: "ours + near-cache, commit: 'interceptor'", env: ours(true, 'interceptor'), target: { express: 0.95, fastify: 0.7 } },
  {
    label: "ours + near-cache, an app with a WebSocket gateway, commit unset ('auto': on-send for the HTTP routes)",
    env: { ...ours(true, 'on-send'), BENCH_COMMIT: '', BENCH_GATEWAY: '1' },
    target: { express: 0.95, fastify: 0.7 },
  },
  { label: "ours, no near-cache, commit: 'interceptor'", env: ours(false, 'interceptor'), target: { express: 0.85, fastify: undefined } },
  { label: "ours, no near-cache, commit: 'on-send' (the default here)", env: ours(false, 'on-send'), target: { express: 0.85, fastify: undefined } },
];

const percent = (value: number) => `${(value * 100).toFixed(1)} %`;

function describe(adapter: 'express' | 'fastify', runs: readonly VariantRuns[]): string[] {
  const bare = runs[0] as VariantRuns;
  return runs.slice(1).map((row, i) => {
    const setup = SETUPS[i + 1] as Setup;
    const target = setup.target?.[adapter];
    const estimate = pairedEstimate(row, bare, target);
    const met =
      target === undefined
        ? ''
        : `${percent(target)}: median ${estimate.medianRatio >= target ? 'met' : '**not met**'}, ${estimate.roundsMeeting} of ${estimate.ratios.length} rounds`;
    const bestVsBest = Math.max(...row.rps) / Math.max(...bare.rps);
    return (
      `| ${adapter} | ${setup.label} | **${percent(estimate.medianRatio)}** | ${percent(Math.min(...estimate.ratios))} - ${percent(Math.max(...estimate.ratios))} | ` +
      `${estimate.medianCpuAboveUs.toFixed(0)} µs | ${listed(row.rps)} | ${percent(bestVsBest)} | ${met} |`
    );
  });
}

const server = await startRedisServer();
const lines = [
  `${PLAN.rounds} rounds of ${PLAN.seconds} s per app after ${PLAN.warmupSeconds} s of warm-up, ${PLAN.connections} connections, GET /me; Node ${process.version}`,
  '',
  '| adapter | app, GET /me | req/s vs bare, median of the rounds | lowest - highest round | app CPU above bare, median | req/s (each round) | best vs best (as `npm run bench`) | target |',
  '|---|---|--:|--:|--:|--:|--:|---|',
];
try {
  let database = 0;
  for (const adapter of ADAPTERS) {
    const variants: AppVariant[] = SETUPS.map((setup) => ({
      name: `${adapter} ${setup.label}`,
      env: { ...setup.env, BENCH_ADAPTER: adapter, REDIS_URL: `${server.url}/${database++}` },
      signIn: (url: string) => readCredentials(setup.env, url, SESSIONS),
    }));
    const runs = await runAlternating(variants, PLAN);
    const bare = runs[0] as VariantRuns;
    process.stdout.write(`${adapter} bare: ${listed(bare.rps)} req/s\n`);
    lines.push(...describe(adapter, runs));
  }
} finally {
  await server.stop();
}
process.stdout.write(`\n${lines.join('\n')}\n`);
