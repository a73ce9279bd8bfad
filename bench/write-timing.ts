/**
 * `npm run bench:write-timing`: does the moment a response is written change its cost?
 *
 * The same bare Nest app (no sessions, no Redis) answers GET /me either at once or one event-loop
 * turn later (setImmediate), in alternating runs, on Express and on Fastify. On loopback the app's
 * write of a response also runs the receiving side's TCP work and wakes the load generator, so
 * answers written in bursts can cost less CPU per request than answers written one by one. The
 * near-cache answers at once, a Redis round trip answers in bursts: this isolates that effect from
 * any session code. About 70 s.
 */
import { best, listed, runAlternating } from './lib/alternating.js';

const PLAN = { rounds: 3, warmupSeconds: 2, seconds: 3, connections: 32 };

const lines = ['| bare Nest, GET /me | answer written | req/s (each run) | app CPU µs/req (each run) | host CPU stolen % (each run) | best CPU vs at once |', '|---|---|--:|--:|--:|--:|'];
for (const adapter of ['express', 'fastify'] as const) {
  const [atOnce, later] = await runAlternating(
    [false, true].map((deferred) => ({
      name: `${adapter} ${deferred ? 'one turn later' : 'at once'}`,
      env: { BENCH_ADAPTER: adapter, BENCH_STACK: 'bare', BENCH_DEFER_RESPONSE: deferred ? '1' : '0' },
    })),
    PLAN,
  );
  for (const [runs, when] of [[atOnce, 'at once'], [later, 'one event-loop turn later']] as const) {
    const ratio = best(runs.cpuUs) / best(atOnce.cpuUs);
    lines.push(`| ${adapter} | ${when} | ${listed(runs.rps)} | ${listed(runs.cpuUs)} | ${listed(runs.steal)} | ${(ratio * 100).toFixed(0)} % |`);
  }
}
process.stdout.write(`\n${lines.join('\n')}\n`);
