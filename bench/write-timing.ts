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
import { startApp } from './lib/app-process.js';
import { runLoad } from './lib/load.js';

const ROUNDS = 3;
const WARMUP_SECONDS = 2;
const SECONDS = 3;
const CONNECTIONS = 32;

interface Row {
  adapter: string;
  deferred: boolean;
  rps: number[];
  cpuUs: number[];
}

async function measure(adapter: 'express' | 'fastify', deferred: boolean): Promise<{ rps: number; cpuUs: number }> {
  const app = await startApp({ BENCH_ADAPTER: adapter, BENCH_STACK: 'bare', BENCH_DEFER_RESPONSE: deferred ? '1' : '0' });
  try {
    const options = { url: app.url, connections: CONNECTIONS, credentials: [{}], path: 'read' as const };
    await runLoad({ ...options, seconds: WARMUP_SECONDS });
    const before = app.cpuSeconds();
    const result = await runLoad({ ...options, seconds: SECONDS });
    const cpu = app.cpuSeconds() - before;
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${adapter}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return { rps: result.rps, cpuUs: (cpu * 1e6) / result.requests };
  } finally {
    await app.stop();
  }
}

const rows: Row[] = [];
for (const adapter of ['express', 'fastify'] as const) {
  const pair = [false, true].map((deferred) => ({ adapter, deferred, rps: [] as number[], cpuUs: [] as number[] }));
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of pair) {
      const { rps, cpuUs } = await measure(adapter, row.deferred);
      row.rps.push(rps);
      row.cpuUs.push(cpuUs);
      process.stdout.write(`${adapter} ${row.deferred ? 'one turn later' : 'at once'}: ${Math.round(rps)} req/s, ${cpuUs.toFixed(0)} µs app CPU/req\n`);
    }
  }
  rows.push(...pair);
}

const list = (values: number[], digits = 0) => values.map((v) => v.toLocaleString('en-US', { maximumFractionDigits: digits })).join(', ');
const best = (values: number[]) => Math.min(...values);
process.stdout.write('\n| bare Nest, GET /me | answer written | req/s (each run) | app CPU µs/req (each run) | best CPU vs at once |\n|---|---|--:|--:|--:|\n');
for (const row of rows) {
  const atOnce = rows.find((r) => r.adapter === row.adapter && !r.deferred) as Row;
  const ratio = best(row.cpuUs) / best(atOnce.cpuUs);
  process.stdout.write(
    `| ${row.adapter} | ${row.deferred ? 'one event-loop turn later' : 'at once'} | ${list(row.rps)} | ${list(row.cpuUs)} | ${(ratio * 100).toFixed(0)} % |\n`,
  );
}
