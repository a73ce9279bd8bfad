/**
 * `npm run bench`: the session-layer benchmark (see bench/README in the main README, "Performance").
 *
 * Starts a private redis-server and one app process per variant (bare Nest, express-session +
 * connect-redis, ours per strategy with and without the near-cache; the same on Fastify), each on
 * a database of its own, all up at once; they take turns under autocannon on GET /me (rounds) and
 * then PUT /cart/:sku (same connections and duration for all, after a warm-up), and Redis's
 * counters are read around each run. Then the large-session write scenario,
 * Redis memory per session, and the same app on a 3-master Cluster.
 *
 * Environment: BENCH_SECONDS (3), BENCH_WARMUP (2), BENCH_READ_RUNS (2, the fastest counts), BENCH_BUDGET (285 s for the whole run), BENCH_CONNECTIONS (32), BENCH_SESSIONS (100),
 * BENCH_ONLY=<variant id,...> (a partial run: results only under bench/results/), BENCH_SKIP=large,cluster.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/support/redis-server.js';
import { startApp, type AppProcess } from './lib/app-process.js';
import { renderChart } from './lib/chart.js';
import { turnOrder } from './lib/alternating.js';
import { startBenchCluster } from './lib/cluster.js';
import { measureHostSpeed, sampleHostCpu, stealPercent } from './lib/host-cpu.js';
import { runLoad, send, signIn, type Credential } from './lib/load.js';
import type { BenchConfig, BenchResults, LargeSessionPoint, MemoryResult, PathName, PathResult, Variant } from './lib/model.js';
import { delta, readCounters, roundTrips } from './lib/redis-stats.js';
import { CAPACITY, capacityTable, checksTable, clusterTable, largeTable, mainTable, memoryTable, readCostTable, targetChecks } from './lib/report.js';

const env = process.env;
const num = (value: string | undefined, fallback: number) => (value ? Number(value) : fallback);
const config: BenchConfig = {
  connections: num(env.BENCH_CONNECTIONS, 32),
  seconds: num(env.BENCH_SECONDS, 3),
  warmupSeconds: num(env.BENCH_WARMUP, 2),
  sessions: num(env.BENCH_SESSIONS, 100),
  quick: env.BENCH_SECONDS !== undefined && Number(env.BENCH_SECONDS) < 3,
};
/** Whole run, seconds: a scenario that would not fit is skipped (and said so) rather than overrun. */
const BUDGET_SECONDS = num(env.BENCH_BUDGET, 285);
const started = Date.now();
const elapsed = () => (Date.now() - started) / 1000;
/** Rough cost of one app: boot and sign-ins, warm-ups, its measured runs with their settling and probes. */
const variantSeconds = () => 3 + config.warmupSeconds * 1.5 + (config.seconds + 0.5) * (1 + READ_RUNS);
const only = env.BENCH_ONLY ? new Set(env.BENCH_ONLY.split(',')) : null;
const skip = new Set((env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const PROBE_REQUESTS = 10;
/** Measured read runs per app; the fastest counts (BENCH_READ_RUNS). */
const READ_RUNS = num(env.BENCH_READ_RUNS, 2);
/** Three sizes show whether a one-key write grows with the session; a fourth did not fit the budget on slow hosts. */
const LARGE_SIZES = [10, 100, 200];
const LARGE_SESSIONS = 8;
/** About 250 bytes per cart item: 200 items make a session of about 50 KB. */
const NOTE = 'n'.repeat(226);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const log = (line: string) => process.stdout.write(`[${elapsed().toFixed(1).padStart(5)} s] ${line}\n`);

function variants(): Variant[] {
  const list: Variant[] = [
    { id: 'express-bare', label: 'bare Nest (Express)', adapter: 'express', stack: 'bare', topology: 'standalone' },
    // Nest's guard + interceptor doing nothing: on request (BENCH_ONLY), as npm run bench:floor
    // measures it in more detail, to leave the budget to the commit: 'interceptor' rows and the Cluster run.
    { id: 'express-floor', label: 'bare + no-op guard & interceptor (Express)', adapter: 'express', stack: 'nest-floor', onRequest: true, topology: 'standalone' },
    { id: 'express-session', label: 'express-session + connect-redis', adapter: 'express', stack: 'express-session', topology: 'standalone' },
  ];
  for (const strategy of ['session-id', 'jwt', 'hashed'] as const) {
    for (const cache of [false, true]) {
      list.push({
        id: `express-ours-${strategy}${cache ? '-cache' : ''}`,
        label: `ours ${strategy}${cache ? ' + near-cache' : ''}`,
        adapter: 'express',
        stack: 'ours',
        strategy,
        cache,
        topology: 'standalone',
      });
    }
  }
  // The rows above run the library's defaults: commit 'auto', which is 'on-send' in these apps. The
  // interceptor is what an app with gateways or GraphQL resolvers gets.
  list.push({
    id: 'express-ours-session-id-cache-interceptor',
    label: "ours session-id + near-cache, commit: 'interceptor'",
    adapter: 'express',
    stack: 'ours',
    strategy: 'session-id',
    cache: true,
    commit: 'interceptor',
    topology: 'standalone',
  });
  // What batching the commands of one event-loop turn into one socket write (on by default) buys:
  // measured in runs D-K, now only on request (BENCH_ONLY), to leave the budget to the other rows.
  list.push({
    id: 'express-ours-session-id-unbatched',
    label: 'ours session-id, batchWrites: false',
    adapter: 'express',
    stack: 'ours',
    strategy: 'session-id',
    cache: false,
    batchWrites: false,
    onRequest: true,
    topology: 'standalone',
  });
  list.push(
    { id: 'fastify-bare', label: 'bare Nest (Fastify)', adapter: 'fastify', stack: 'bare', topology: 'standalone' },
    { id: 'fastify-floor', label: 'bare + no-op guard & interceptor (Fastify)', adapter: 'fastify', stack: 'nest-floor', onRequest: true, topology: 'standalone' },
    { id: 'fastify-session', label: '@fastify/session + connect-redis', adapter: 'fastify', stack: 'fastify-session', topology: 'standalone' },
    { id: 'fastify-ours-session-id', label: 'ours session-id (Fastify)', adapter: 'fastify', stack: 'ours', strategy: 'session-id', cache: false, topology: 'standalone' },
    { id: 'fastify-ours-session-id-cache', label: 'ours session-id + near-cache (Fastify)', adapter: 'fastify', stack: 'ours', strategy: 'session-id', cache: true, topology: 'standalone' },
    {
      id: 'fastify-ours-session-id-cache-interceptor',
      label: "ours session-id + near-cache, commit: 'interceptor' (Fastify)",
      adapter: 'fastify',
      stack: 'ours',
      strategy: 'session-id',
      cache: true,
      commit: 'interceptor',
      topology: 'standalone',
    },
  );
  return list;
}

interface Target {
  /** Clients for INFO counters: the server, or every Cluster master. */
  nodes: Redis[];
  env: Record<string, string>;
}

function appEnv(variant: Variant, target: Target): Record<string, string> {
  return {
    ...target.env,
    BENCH_ADAPTER: variant.adapter,
    BENCH_STACK: variant.stack,
    BENCH_STRATEGY: variant.strategy ?? '',
    BENCH_CACHE: variant.cache ? '1' : '0',
    BENCH_BATCH_WRITES: variant.batchWrites === false ? '0' : '',
    BENCH_COMMIT: variant.commit ?? '',
  };
}

async function flush(target: Target): Promise<void> {
  await Promise.all(target.nodes.map((n) => n.flushall()));
}

const PATH_NAMES: Record<'read' | 'write', PathName> = { read: 'GET /me', write: 'PUT /cart/:sku' };

/** One timed run of `kind` on a running app, with Redis's counters around it and `probe` under MONITOR. */
async function measure(r: Running, kind: 'read' | 'write', probe: () => Promise<void>, first?: number): Promise<PathResult> {
  const { variant, app, target } = r;
  const path = PATH_NAMES[kind];
  const before = await readCounters(target.nodes);
  const cpuBefore = app.cpuSeconds();
  const hostBefore = sampleHostCpu();
  const result = await runLoad({ ...loadBase(r), seconds: config.seconds, path: kind, first });
  const steal = stealPercent(hostBefore, sampleHostCpu());
  await settle(target);
  const cpuAfter = app.cpuSeconds();
  const after = await readCounters(target.nodes);
  const d = delta(before, after);
  const rt = await roundTrips(target.nodes, probe);
  const n = result.requests;
  const row: PathResult = {
    variant,
    path,
    requests: n,
    rps: result.rps,
    p50: result.p50,
    p99: result.p99,
    failed: result.non2xx + result.errors,
    roundTrips: rt.length / PROBE_REQUESTS,
    roundTripCommands: [...new Set(rt)],
    commands: d.commands / n,
    bytesIn: d.netIn / n,
    bytesOut: d.netOut / n,
    redisUsec: d.topLevelUsec / n,
    redisCpuUs: (d.cpuSeconds * 1e6) / n,
    appCpuUs: ((cpuAfter - cpuBefore) * 1e6) / n,
    stealPercent: steal,
    roundRps: [result.rps],
  };
  log(
    `  ${variant.id.padEnd(40)} ${path.padEnd(15)} ${row.rps.toFixed(0).padStart(6)} req/s  p50 ${row.p50.toFixed(1)} ms  p99 ${row.p99.toFixed(1)} ms  ` +
      `RT ${row.roundTrips.toFixed(2)} [${row.roundTripCommands.join(',')}]  cmds ${row.commands.toFixed(2)}  in ${row.bytesIn.toFixed(0)} B  ` +
      `app ${row.appCpuUs.toFixed(0)} µs  redis ${row.redisCpuUs.toFixed(1)} µs  steal ${row.stealPercent.toFixed(0)} %${row.failed ? `  FAILED ${row.failed}` : ''}`,
  );
  return row;
}

/**
 * autocannon stops at its deadline with requests still in flight: wait until Redis is quiet, so
 * their commands neither leak into the MONITOR probe nor get lost from the counters.
 */
async function settle(target: Target): Promise<void> {
  const total = async () => Object.values((await readCounters(target.nodes)).calls).reduce((a, b) => a + b, 0);
  const deadline = Date.now() + 3000;
  let last = await total();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await total();
    if (now === last || Date.now() > deadline) return;
    last = now;
  }
}

/** An app that is up and signed in, waiting for its turn. */
interface Running {
  variant: Variant;
  target: Target;
  app: AppProcess;
  credentials: Credential[];
  /** Its read runs so far, in round order. */
  reads: PathResult[];
}

async function launch(variant: Variant, target: Target): Promise<Running> {
  log(`start ${variant.label} [${variant.id}]`);
  const app = await startApp(appEnv(variant, target));
  try {
    const credentials: Credential[] = variant.stack === 'bare' || variant.stack === 'nest-floor' ? [{}] : await signIn(app.url, config.sessions, variant.strategy === 'jwt');
    return { variant, target, app, credentials, reads: [] };
  } catch (error) {
    await app.stop();
    throw error;
  }
}

const loadBase = (r: Running) => ({ url: r.app.url, connections: config.connections, credentials: r.credentials });

/**
 * The read path is what the targets judge. Every app stays up and they take turns: round 1 in
 * list order, round 2 reversed, and so on; each app's fastest run counts. A burst of outside load
 * on this shared 2-core box then spoils one run of a few neighbouring apps, not every run of one
 * app (seen with back-to-back runs: both 3 s runs of an app at half speed). Then one write run each.
 */
async function measureAll(running: Running[], memory: MemoryResult[]): Promise<PathResult[]> {
  for (let round = 0; round < READ_RUNS; round++) {
    for (const r of turnOrder(running, round)) {
      if (round === 0) await runLoad({ ...loadBase(r), seconds: config.warmupSeconds, path: 'read' });
      const attempt = await measure(r, 'read', async () => {
        for (let i = 0; i < PROBE_REQUESTS; i++) await send(r.app.url, 'GET', '/me', r.credentials[i % r.credentials.length]);
      });
      r.reads.push(attempt);
    }
  }
  const rows: PathResult[] = [];
  for (const r of running) {
    rows.push(fastestRead(r.reads));
    // The floor apps are there for the read path's cost split: their writes judge nothing.
    if (r.variant.stack !== 'nest-floor') rows.push(await measureWrite(r, memory));
  }
  return rows;
}

/** The fastest read run stands for the app, with every run's req/s beside it. */
function fastestRead(reads: PathResult[]): PathResult {
  const fastest = reads.reduce((a, b) => (b.rps > a.rps ? b : a));
  return { ...fastest, roundRps: reads.map((r) => r.rps) };
}

async function measureWrite(r: Running, memory: MemoryResult[]): Promise<PathResult> {
  const warmUp = await runLoad({ ...loadBase(r), seconds: Math.max(1, config.warmupSeconds / 2), path: 'write' });
  // The timed run continues the warm-up's sequence of writes. Started over at 0, its first writes
  // set the values the warm-up had left wherever the warm-up wrote a session's sku only once (a
  // warm-up under 2,000 writes: 100 sessions x 10 skus, twice): unchanged, they were not written
  // and cost ours only the load, 2 Redis commands instead of 8 (none from the near-cache), so the
  // Express runs, whose cold warm-ups sent 600-2,100 writes, counted 6.8-7.6 per PUT (Fastify 8.0).
  const write = await measure(r, 'write', async () => {
    for (let i = 0; i < PROBE_REQUESTS; i++) {
      // A quantity the timed run never wrote: every probe write is a real change (an unchanged
      // value is not written at all, by express-session nor by us).
      await send(r.app.url, 'PUT', `/cart/sku-${i % 10}`, r.credentials[i % r.credentials.length], { qty: 100 + i });
    }
  }, warmUp.next);
  if (r.variant.topology === 'standalone' && (r.variant.id === 'express-ours-session-id' || r.variant.id === 'express-session')) {
    memory.push(await measureMemory(r.variant, r.target.env.REDIS_URL));
  }
  return write;
}

/** Apps booting at once: one per core (a boot is CPU-bound), so the whole run keeps its Cluster part within budget. */
const BOOTING_AT_ONCE = 2;

/** Starts the apps, a few at a time, runs them, stops them all. */
async function runSideBySide(list: Array<{ variant: Variant; target: Target }>, memory: MemoryResult[]): Promise<PathResult[]> {
  const running: Running[] = [];
  try {
    for (let i = 0; i < list.length; i += BOOTING_AT_ONCE) {
      const started = await Promise.allSettled(list.slice(i, i + BOOTING_AT_ONCE).map(({ variant, target }) => launch(variant, target)));
      for (const outcome of started) if (outcome.status === 'fulfilled') running.push(outcome.value);
      const failed = started.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    }
    return await measureAll(running, memory);
  } finally {
    await Promise.all(running.map((r) => r.app.stop()));
  }
}

async function scan(redis: Redis, match: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

const memoryUsage = async (redis: Redis, key: string) => Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** MEMORY USAGE of the sessions the write run left behind: each has its user and 10 cart items. */
async function measureMemory(variant: Variant, url: string): Promise<MemoryResult> {
  const redis = new Redis(url);
  try {
    return await sessionMemory(variant, redis);
  } finally {
    redis.disconnect();
  }
}

async function sessionMemory(variant: Variant, redis: Redis): Promise<MemoryResult> {
  if (variant.stack === 'ours') {
    const sessions = await scan(redis, 'sess:{*');
    const indexes = await scan(redis, 'sess:user:{*');
    const sizes = await Promise.all(sessions.map((k) => memoryUsage(redis, k)));
    const indexSizes = await Promise.all(indexes.map((k) => memoryUsage(redis, k)));
    const dataKeys = average(await Promise.all(sessions.map(async (k) => (await redis.hkeys(k)).filter((f) => f.startsWith('d:')).length)));
    // One session per user here: each index holds one member.
    return { variant, sessionKeyBytes: average(sizes), indexBytes: (indexSizes.reduce((a, b) => a + b, 0)) / sessions.length, dataKeys, sessions: sessions.length };
  }
  const keys = await scan(redis, 'sess:*');
  const sizes = await Promise.all(keys.map((k) => memoryUsage(redis, k)));
  const dataKeys = average(
    await Promise.all(keys.map(async (k) => Object.keys((JSON.parse((await redis.get(k)) ?? '{}') as { cart?: object }).cart ?? {}).length)),
  );
  return { variant, sessionKeyBytes: average(sizes), indexBytes: 0, dataKeys, sessions: keys.length };
}

/** One-key writes to sessions of growing size: ours writes the delta, a whole-blob store the blob. */
async function runLarge(variant: Variant, target: Target): Promise<LargeSessionPoint[]> {
  log(`large session: ${variant.label}`);
  await flush(target);
  const app = await startApp(appEnv(variant, target));
  const points: LargeSessionPoint[] = [];
  try {
    const credentials = await signIn(app.url, LARGE_SESSIONS, false);
    let filled = 0;
    for (const keys of LARGE_SIZES) {
      for (; filled < keys; filled++) {
        for (const credential of credentials) {
          const status = await send(app.url, 'PUT', `/cart/item-${filled}`, credential, { qty: 1, note: NOTE });
          if (status !== 200) throw new Error(`filling the large session failed: ${status}`);
        }
      }
      const base = { url: app.url, connections: LARGE_SESSIONS, credentials, path: 'write' as const, sku: () => 'item-0', writeBody: (i: number) => ({ qty: i % 999, note: NOTE }) };
      await runLoad({ ...base, seconds: 1 });
      const before = await readCounters(target.nodes);
      const cpuBefore = app.cpuSeconds();
      const result = await runLoad({ ...base, seconds: Math.min(config.seconds, 2) });
      await settle(target);
      const cpu = app.cpuSeconds() - cpuBefore;
      const d = delta(before, await readCounters(target.nodes));
      const sessionBytes = keys * (`cart:item-${keys}`.length + JSON.stringify({ qty: 1, note: NOTE }).length);
      const point: LargeSessionPoint = {
        variant,
        keys,
        sessionBytes,
        rps: result.rps,
        p50: result.p50,
        bytesIn: d.netIn / result.requests,
        bytesOut: d.netOut / result.requests,
        appCpuUs: (cpu * 1e6) / result.requests,
        failed: result.non2xx + result.errors,
      };
      log(`  ${String(keys).padStart(3)} keys  ${point.rps.toFixed(0)} req/s  written ${point.bytesIn.toFixed(0)} B/req  read ${point.bytesOut.toFixed(0)} B/req${point.failed ? `  FAILED ${point.failed}` : ''}`);
      points.push(point);
    }
    return points;
  } finally {
    await app.stop();
  }
}

function fits(seconds: number, what: string, results: BenchResults): boolean {
  if (elapsed() + seconds <= BUDGET_SECONDS) return true;
  const note = `Skipped ${what}: it would not fit the ${BUDGET_SECONDS} s budget (BENCH_BUDGET) after ${elapsed().toFixed(0)} s.`;
  log(`bench: ${note}`);
  results.notes.push(note);
  return false;
}

function replaceBetween(text: string, name: string, content: string): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) {
    log(`README: markers ${start} ... ${end} not found; section not updated`);
    return text;
  }
  return `${text.slice(0, i + start.length)}\n${content}\n${text.slice(j)}`;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const load = loadavg();
  const redisVersion = execFileSync('redis-server', ['--version']).toString().trim();
  const speed = await measureHostSpeed();
  log(
    `bench: ${config.connections} connections, ${config.seconds} s per run after a ${config.warmupSeconds} s warm-up; load average ${load.map((l) => l.toFixed(2)).join(' ')}; ` +
      `host speed: loop ${speed.loopMs.toFixed(0)} ms, loopback round trip ${speed.loopbackRoundTripUs.toFixed(1)} µs`,
  );
  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    host: { cpus: cpus().length, node: process.version, redis: redisVersion, loadAverage: load, speed },
    config,
    paths: [],
    large: [],
    memory: [],
    notes: [],
  };

  const chosen = variants().filter((v) => (only ? only.has(v.id) : !v.onRequest));
  // Each app keeps its keys in a database of its own: they all stay up side by side.
  const server = await startRedisServer({ args: ['--databases', String(Math.max(16, chosen.length))] });
  const redis = new Redis({ host: server.host, port: server.port });
  const standalone: Target = { nodes: [redis], env: { REDIS_URL: server.url } };
  try {
    let planned = 0;
    const lineUp: Array<{ variant: Variant; target: Target }> = [];
    for (const variant of chosen) {
      if (!fits(planned + variantSeconds(), variant.label, results)) continue;
      planned += variantSeconds();
      lineUp.push({ variant, target: { nodes: [redis], env: { REDIS_URL: `${server.url}/${lineUp.length}` } } });
    }
    results.paths.push(...(await runSideBySide(lineUp, results.memory)));
    if (!skip.has('large')) {
      for (const variant of variants().filter((v) => v.id === 'express-ours-session-id' || v.id === 'express-session')) {
        if (only && !only.has(variant.id)) continue;
        if (!fits(8 + LARGE_SIZES.length * 3.5, `the large-session run of ${variant.label}`, results)) continue;
        results.large.push(...(await runLarge(variant, standalone)));
      }
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }

  const clusterVariant: Variant = {
    id: 'express-ours-session-id-cluster',
    label: 'ours session-id',
    adapter: 'express',
    stack: 'ours',
    strategy: 'session-id',
    cache: false,
    topology: 'cluster',
  };
  // Starting the 3 masters took about 2 s; the app then costs what any other does.
  if (!skip.has('cluster') && (!only || only.has(clusterVariant.id)) && fits(3 + variantSeconds(), 'the Cluster run', results)) {
    const cluster = await startBenchCluster(log);
    results.notes.push(`Cluster run: ${cluster.description}; the near-cache is refused on Cluster, so the run is without it.`);
    try {
      const target: Target = { nodes: cluster.masters, env: { REDIS_CLUSTER: JSON.stringify(cluster.nodes) } };
      results.paths.push(...(await runSideBySide([{ variant: clusterVariant, target }], results.memory)));
    } finally {
      await cluster.stop();
    }
  }
  results.finishedAt = new Date().toISOString();
  await write(results);
}

async function write(results: BenchResults): Promise<void> {
  const failures = [...results.paths, ...results.large].filter((r) => r.failed > 0);
  for (const f of failures) results.notes.push(`WARNING: ${f.variant.label} had ${f.failed} failed requests (non-2xx or errors).`);
  results.notes.push(
    '@fastify/session runs with its documented defaults (rolling: true, so it saves the session on every request) and saveUninitialized: false; express-session with resave: false, saveUninitialized: false, as their docs recommend. Both use connect-redis 9 (node-redis client) on the same Redis.',
  );
  const seconds = (Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000;
  const { config: c, host } = results;
  const steals = results.paths.map((r) => r.stealPercent);
  const header =
    `Generated by \`npm run bench\` on ${results.finishedAt.slice(0, 10)} in ${seconds.toFixed(0)} s: ${host.cpus} CPUs, Node ${host.node}, ${host.redis.split(' ').slice(0, 3).join(' ')}; ` +
    `${c.connections} connections, ${c.seconds} s per run after a ${c.warmupSeconds} s warm-up (GET /me: the faster of ${READ_RUNS} runs; every app stays up and the apps take turns, so an app's runs are minutes apart), ${c.sessions} signed-in sessions; ` +
    `load average at start ${host.loadAverage.map((l) => l.toFixed(2)).join(' ')} (the app, autocannon and Redis share the machine); ` +
    `host CPU stolen by the hypervisor during the timed runs: ${Math.min(...steals).toFixed(0)}-${Math.max(...steals).toFixed(0)} % (the last column); ` +
    `host speed before the run (bench/lib/host-cpu.ts, to compare runs across days): a fixed JavaScript loop in ${host.speed.loopMs.toFixed(0)} ms, ` +
    `a loopback TCP round trip in ${host.speed.loopbackRoundTripUs.toFixed(1)} µs.`;
  const capacityNote =
    `Assumptions: ${Math.round(CAPACITY.readShare * 100)}% of requests read, ${Math.round((1 - CAPACITY.readShare) * 100)}% write one key; Redis CPU is the redis-server process time ` +
    `(INFO cpu) per request measured above, networking included; a shard is one master at ${CAPACITY.cpuTarget * 100}% of one core with ${CAPACITY.shardMemoryGiB} GiB maxmemory. ` +
    'With the near-cache, repeat reads cost Redis nothing (the column assumes every read is a repeat read of a cached session; ' +
    'real hit rates depend on how requests are spread over servers).';
  const checks = targetChecks(results);
  const markdown = [
    '# Benchmark results',
    '',
    header,
    '',
    '## Requests',
    '',
    mainTable(results.paths),
    '',
    '![benchmark chart](chart.svg)',
    '',
    '## Where the read path\'s CPU goes (app CPU µs per GET /me)',
    '',
    readCostTable(results.paths),
    '',
    '## Targets',
    '',
    checksTable(checks),
    '',
    '## Large session: one key written per request',
    '',
    largeTable(results),
    '',
    '## Redis memory per session (user id + 10 cart items)',
    '',
    memoryTable(results),
    '',
    '## Cluster',
    '',
    clusterTable(results.paths),
    '',
    '## Capacity on paper',
    '',
    capacityTable(results),
    '',
    capacityNote,
    '',
    '## Notes',
    '',
    ...results.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');

  const bench = join(root, 'bench');
  mkdirSync(join(bench, 'results'), { recursive: true });
  writeFileSync(join(bench, 'results', 'latest.json'), JSON.stringify(results, null, 2));
  const svg = await renderChart(results.paths, `${c.connections} connections, ${c.seconds} s per run, ${host.cpus} CPUs (${results.finishedAt.slice(0, 10)})`);
  if (only) {
    writeFileSync(join(bench, 'results', 'partial.md'), markdown.replace('](chart.svg)', '](partial.svg)'));
    writeFileSync(join(bench, 'results', 'partial.svg'), svg);
    log('bench: partial run (BENCH_ONLY): wrote bench/results/partial.md and partial.svg; README not updated');
    return;
  }
  writeFileSync(join(bench, 'results.md'), markdown);
  writeFileSync(join(bench, 'chart.svg'), svg);
  const readmePath = join(root, 'README.md');
  let readme = readFileSync(readmePath, 'utf8');
  readme = replaceBetween(readme, 'table', [header, '', mainTable(results.paths), '', '**Where the read path\'s CPU goes** (app CPU µs per GET /me)', '', readCostTable(results.paths), '', '**Targets**', '', checksTable(checks)].join('\n'));
  readme = replaceBetween(readme, 'capacity', [capacityTable(results), '', capacityNote].join('\n'));
  writeFileSync(readmePath, readme);
  log(`bench: wrote bench/results.md, bench/chart.svg and the README tables (${seconds.toFixed(0)} s)`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
