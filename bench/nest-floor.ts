/**
 * `npm run bench:floor`: what Nest's enhancers cost a request before any session code runs.
 *
 * Any session layer built the Nest way needs a global guard (to load the session before the
 * handler) and a global interceptor (to save it after the handler, before the response is
 * written). The bare app (no sessions, no Redis) runs with neither, with a no-op async guard, with
 * a pass-through interceptor, and with both, on Express and on Fastify, in alternating runs; the
 * best run of each counts. Tells which of the two makes the floor under the read-path targets.
 * About 3 minutes. A last row puts the guard answering `true` at once, as SessionGuard does on a near-cache hit.
 */
import { best, listed, runAlternating, type VariantRuns } from './lib/alternating.js';

const PLAN = { rounds: 5, warmupSeconds: 1, seconds: 2, connections: 32 };
const SETUPS: ReadonlyArray<{ label: string; env: Record<string, string> }> = [
  { label: 'bare', env: { BENCH_STACK: 'bare' } },
  { label: '+ no-op guard', env: { BENCH_STACK: 'nest-floor', BENCH_FLOOR: 'guard' } },
  { label: '+ pass-through interceptor', env: { BENCH_STACK: 'nest-floor', BENCH_FLOOR: 'interceptor' } },
  { label: '+ both', env: { BENCH_STACK: 'nest-floor', BENCH_FLOOR: 'both' } },
  // SessionGuard answers a near-cache hit with `true`, not a promise: does that change the floor?
  { label: '+ both, the guard synchronous', env: { BENCH_STACK: 'nest-floor', BENCH_FLOOR: 'sync-both' } },
];

const lines = [
  '| adapter | Nest app, GET /me | req/s (each run) | app CPU µs/req (each run) | host CPU stolen % (each run) | best CPU | above bare | best req/s vs bare |',
  '|---|---|--:|--:|--:|--:|--:|--:|',
];
for (const adapter of ['express', 'fastify'] as const) {
  const runs = await runAlternating(
    SETUPS.map((setup) => ({ name: `${adapter} ${setup.label}`, env: { ...setup.env, BENCH_ADAPTER: adapter } })),
    PLAN,
  );
  const bare = runs[0] as VariantRuns;
  runs.forEach((row, i) => {
    const cpu = best(row.cpuUs);
    const rps = Math.max(...row.rps) / Math.max(...bare.rps);
    lines.push(
      `| ${adapter} | ${SETUPS[i]?.label} | ${listed(row.rps)} | ${listed(row.cpuUs)} | ${listed(row.steal)} | ${cpu.toFixed(0)} µs | ` +
        `${(cpu - best(bare.cpuUs)).toFixed(0)} µs | ${(rps * 100).toFixed(0)} % |`,
    );
  });
}
process.stdout.write(`\n${lines.join('\n')}\n`);
