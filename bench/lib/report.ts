/** Markdown tables, target checks and the capacity estimate, from measured results only. */
import type { BenchResults, PathResult, PathName, Variant } from './model.js';

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const ratio = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? '' : `${value.toFixed(2)}x`);

function find(results: PathResult[], path: PathName, match: (v: Variant) => boolean): PathResult | undefined {
  return results.find((r) => r.path === path && r.variant.topology === 'standalone' && match(r.variant));
}

const bareOf = (results: PathResult[], r: PathResult) =>
  find(results, r.path, (v) => v.stack === 'bare' && v.adapter === r.variant.adapter);
const expressSessionOf = (results: PathResult[], r: PathResult) => find(results, r.path, (v) => v.stack === 'express-session');
const fastifySessionOf = (results: PathResult[], r: PathResult) => find(results, r.path, (v) => v.stack === 'fastify-session');

/** The main table: one row per app and path, side by side. */
export function mainTable(results: PathResult[]): string {
  const head =
    '| app | path | req/s | p50 ms | p99 ms | Redis round trips/req | Redis cmds/req (incl. in scripts) | Redis bytes written/req | Redis exec µs/req | app CPU µs/req | × bare | × express-session | × @fastify/session | host CPU stolen |\n' +
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|';
  const rows = results
    .filter((r) => r.variant.topology === 'standalone')
    .map((r) => {
      const bare = bareOf(results, r);
      const es = expressSessionOf(results, r);
      const fs = r.variant.adapter === 'fastify' ? fastifySessionOf(results, r) : undefined;
      return [
        r.variant.label,
        r.path,
        fmt(r.rps),
        fmt(r.p50, 1),
        fmt(r.p99, 1),
        r.variant.stack === 'bare' || r.variant.stack === 'nest-floor' ? '0' : fmt(r.roundTrips, 2),
        fmt(r.commands, 2),
        fmt(r.bytesIn),
        fmt(r.redisUsec, 1),
        fmt(r.appCpuUs),
        ratio(bare ? r.rps / bare.rps : undefined),
        ratio(es ? r.rps / es.rps : undefined),
        ratio(fs ? r.rps / fs.rps : undefined),
        `${fmt(r.stealPercent)} %`,
      ].join(' | ');
    });
  return [head, ...rows.map((row) => `| ${row} |`)].join('\n');
}

/**
 * App CPU per read request: bare, then ours with the library's defaults (commit 'auto', which is
 * 'on-send' in these apps) with and without the near-cache, and with the near-cache under
 * `commit: 'interceptor'`, and what each adds above bare. Nest's guard + interceptor pipeline doing
 * nothing (the floor) is measured when the floor rows run (BENCH_ONLY, or `npm run bench:floor`).
 */
export function readCostTable(results: PathResult[]): string {
  const head =
    "| adapter | bare | + no-op guard & interceptor | ours + near-cache (default: on-send) | ours, 1 Redis round trip (default: on-send) | ours + near-cache, commit: 'interceptor' | above bare: default, cached / default, uncached / interceptor, cached |\n|---|--:|--:|--:|--:|--:|--:|";
  const rows = (['express', 'fastify'] as const).flatMap((adapter) => {
    const cpu = (match: (v: Variant) => boolean) => find(results, 'GET /me', (v) => v.adapter === adapter && match(v))?.appCpuUs;
    const bare = cpu((v) => v.stack === 'bare');
    if (bare === undefined) return [];
    const floor = cpu((v) => v.stack === 'nest-floor');
    const ours = (cache: boolean, commit?: Variant['commit']) =>
      cpu((v) => v.stack === 'ours' && v.strategy === 'session-id' && v.cache === cache && v.commit === commit);
    const [cached, plain, intercepted] = [ours(true), ours(false), ours(true, 'interceptor')];
    const us = (value: number | undefined) => (value === undefined ? 'n/a' : `${fmt(value)} µs`);
    const above = (value: number | undefined) => (value === undefined ? 'n/a' : `${fmt(value - bare)} µs`);
    return [`| ${adapter} | ${us(bare)} | ${floor === undefined ? 'not run' : us(floor)} | ${us(cached)} | ${us(plain)} | ${us(intercepted)} | ${above(cached)} / ${above(plain)} / ${above(intercepted)} |`];
  });
  return rows.length ? [head, ...rows].join('\n') : '_Bare variants skipped._';
}

export function clusterTable(results: PathResult[]): string {
  const cluster = results.filter((r) => r.variant.topology === 'cluster');
  if (cluster.length === 0) return '_Cluster run skipped._';
  const head =
    '| app | topology | path | req/s | p50 ms | Redis round trips/req | Redis cmds/req | Redis bytes written/req | app CPU µs/req |\n|---|---|---|--:|--:|--:|--:|--:|--:|';
  const rows = cluster.flatMap((c) => {
    const single = find(results, c.path, (v) => v.id === c.variant.id.replace(/-cluster$/, ''));
    return [single, c].flatMap((r) =>
      r
        ? [`| ${r.variant.label} | ${r.variant.topology === 'cluster' ? 'Cluster, 3 masters' : 'standalone'} | ${r.path} | ${fmt(r.rps)} | ${fmt(r.p50, 1)} | ${fmt(r.roundTrips, 2)} | ${fmt(r.commands, 2)} | ${fmt(r.bytesIn)} | ${fmt(r.appCpuUs)} |`]
        : [],
    );
  });
  return [head, ...rows].join('\n');
}

export function largeTable(results: BenchResults): string {
  if (results.large.length === 0) return '_Large-session scenario skipped._';
  const head = '| app | data keys | session size | req/s | p50 ms | Redis bytes written/req | Redis bytes read/req | app CPU µs/req |\n|---|--:|--:|--:|--:|--:|--:|--:|';
  const rows = results.large.map(
    (p) =>
      `| ${p.variant.label} | ${p.keys} | ${fmt(p.sessionBytes / 1024, 1)} KB | ${fmt(p.rps)} | ${fmt(p.p50, 1)} | ${fmt(p.bytesIn)} | ${fmt(p.bytesOut)} | ${fmt(p.appCpuUs)} |`,
  );
  return [head, ...rows].join('\n');
}

export function memoryTable(results: BenchResults): string {
  if (results.memory.length === 0) return '_Memory measurement skipped._';
  const head = '| app | data keys | MEMORY USAGE of the session key | + per-user index share | total per session |\n|---|--:|--:|--:|--:|';
  const rows = results.memory.map(
    (m) =>
      `| ${m.variant.label} | ${m.dataKeys} | ${fmt(m.sessionKeyBytes)} B | ${fmt(m.indexBytes)} B | ${fmt(m.sessionKeyBytes + m.indexBytes)} B |`,
  );
  return [head, ...rows].join('\n');
}

/** Assumptions of the capacity estimate (stated next to the table). */
export const CAPACITY = { readShare: 0.9, shardMemoryGiB: 8, cpuTarget: 0.5, sessions: 10_000_000, rps: 100_000 };

export function capacityTable(results: BenchResults): string {
  const candidates = [
    { label: 'ours (session-id)', id: 'express-ours-session-id', memoryId: 'express-ours-session-id' },
    { label: 'ours (session-id) + near-cache', id: 'express-ours-session-id-cache', memoryId: 'express-ours-session-id' },
    { label: 'ours (session-id), batchWrites: false', id: 'express-ours-session-id-unbatched', memoryId: 'express-ours-session-id' },
    { label: 'express-session + connect-redis', id: 'express-session', memoryId: 'express-session' },
  ];
  // The batchWrites: false row runs only on request (BENCH_ONLY).
  const columns = candidates.filter(({ id }) => find(results.paths, 'GET /me', (v) => v.id === id) !== undefined);
  const cells = columns.map(({ id, memoryId }) => {
    // The near-cache stores nothing extra in Redis: same memory per session as without it.
    const memory = results.memory.find((m) => m.variant.id === memoryId);
    const read = find(results.paths, 'GET /me', (v) => v.id === id);
    const write = find(results.paths, 'PUT /cart/:sku', (v) => v.id === id);
    if (!memory || !read || !write) return null;
    const bytes = memory.sessionKeyBytes + memory.indexBytes;
    const cpu = CAPACITY.readShare * read.redisCpuUs + (1 - CAPACITY.readShare) * write.redisCpuUs;
    const exec = CAPACITY.readShare * read.redisUsec + (1 - CAPACITY.readShare) * write.redisUsec;
    const perShard = (1e6 / cpu) * CAPACITY.cpuTarget;
    const byMemory = Math.ceil((CAPACITY.sessions * bytes) / (CAPACITY.shardMemoryGiB * 2 ** 30));
    const byCpu = Math.ceil(CAPACITY.rps / perShard);
    return { bytes, cpu, exec, perShard, byMemory, byCpu };
  });
  const row = (name: string, value: (c: NonNullable<(typeof cells)[number]>) => string) =>
    `| ${name} | ${cells.map((c) => (c ? value(c) : 'n/a')).join(' | ')} |`;
  return [
    `| | ${columns.map((c) => c.label).join(' | ')} |`,
    `|---|${columns.map(() => '--:').join('|')}|`,
    row('Redis memory per session (10 data keys)', (c) => `${fmt(c.bytes)} B`),
    row('sessions per GB of Redis memory', (c) => fmt(2 ** 30 / c.bytes)),
    row(`Redis CPU per request (${CAPACITY.readShare * 100}% reads), whole process`, (c) => `${fmt(c.cpu, 1)} µs`),
    row('… of which command execution (commandstats)', (c) => `${fmt(c.exec, 1)} µs`),
    row(`requests/s per shard at ${CAPACITY.cpuTarget * 100}% of its core`, (c) => fmt(c.perShard)),
    row(`shards for ${fmt(CAPACITY.sessions)} sessions (${CAPACITY.shardMemoryGiB} GiB maxmemory each)`, (c) => fmt(c.byMemory)),
    row(`shards for ${fmt(CAPACITY.rps)} requests/s`, (c) => fmt(c.byCpu)),
    row(`**shards for ${fmt(CAPACITY.sessions)} sessions at ${fmt(CAPACITY.rps)} req/s**`, (c) => `**${fmt(Math.max(c.byMemory, c.byCpu))}**`),
  ].join('\n');
}

/**
 * Beside a req/s ratio judged on each app's fastest run: the same ratio from app CPU per request
 * (on two cores shared with the load generator and Redis, req/s moves with whatever else runs),
 * and round by round (both apps' runs of one round are closer in time than one app's two runs).
 */
function detail(r: PathResult, other: PathResult, unit: 'x' | '%'): string {
  const show = (value: number) => (unit === 'x' ? `${value.toFixed(2)}x` : `${fmt(100 * value, 1)}%`);
  const rounds = r.roundRps.flatMap((rps, i) => (other.roundRps[i] ? [show(rps / (other.roundRps[i] as number))] : []));
  return `(CPU: ${show(other.appCpuUs / r.appCpuUs)}; rounds: ${rounds.join(', ')})`;
}

interface Check {
  target: string;
  measured: string;
  ok: boolean;
}

/** Every target of the performance issue, checked against this run's numbers. */
export function targetChecks(results: BenchResults): Check[] {
  const p = results.paths;
  const checks: Check[] = [];
  // The library's defaults are what the targets judge; the batchWrites: false row is a comparison.
  const ours = p.filter((r) => r.variant.stack === 'ours' && r.variant.topology === 'standalone' && r.variant.batchWrites !== false);
  for (const r of ours.filter((r) => r.path === 'GET /me')) {
    const bare = bareOf(p, r);
    const es = expressSessionOf(p, r);
    const fs = fastifySessionOf(p, r);
    const label = r.variant.label;
    const wantRt = r.variant.cache ? 0 : 1;
    checks.push({ target: `${label}: read path ${wantRt} Redis round trip(s)${r.variant.cache ? ' on a repeat read' : ''}`, measured: fmt(r.roundTrips, 2), ok: r.roundTrips === wantRt });
    if (r.variant.adapter === 'express') {
      if (es) checks.push({ target: `${label}: read ≥ 1.3x express-session`, measured: `${ratio(r.rps / es.rps)} ${detail(r, es, 'x')}`, ok: r.rps / es.rps >= 1.3 });
      const floor = r.variant.cache ? 0.95 : 0.85;
      if (bare) checks.push({ target: `${label}: read ≥ ${floor * 100}% of bare`, measured: `${fmt((100 * r.rps) / bare.rps, 1)}% ${detail(r, bare, '%')}`, ok: r.rps / bare.rps >= floor });
    } else {
      if (fs) checks.push({ target: `${label}: read ≥ 1.5x @fastify/session`, measured: `${ratio(r.rps / fs.rps)} ${detail(r, fs, 'x')}`, ok: r.rps / fs.rps >= 1.5 });
      if (bare && r.variant.cache) checks.push({ target: `${label}: read ≥ 70% of bare Fastify`, measured: `${fmt((100 * r.rps) / bare.rps, 1)}% ${detail(r, bare, '%')}`, ok: r.rps / bare.rps >= 0.7 });
    }
  }
  for (const r of ours.filter((r) => r.path === 'PUT /cart/:sku')) {
    checks.push({ target: `${r.variant.label}: write path ≤ 2 Redis round trips`, measured: fmt(r.roundTrips, 2), ok: r.roundTrips <= 2 });
  }
  const large = results.large.filter((l) => l.variant.stack === 'ours');
  if (large.length >= 2) {
    const [first, last] = [large[0], large[large.length - 1]];
    const growth = last.bytesIn / first.bytesIn;
    checks.push({
      target: `write bytes proportional to keys changed (${first.keys} → ${last.keys} keys, one key written)`,
      measured: `${fmt(first.bytesIn)} → ${fmt(last.bytesIn)} B (${growth.toFixed(2)}x)`,
      ok: growth < 1.2,
    });
  }
  return checks;
}

export function checksTable(checks: Check[]): string {
  return [
    '| target | measured | met |',
    '|---|--:|:-:|',
    ...checks.map((c) => `| ${c.target} | ${c.measured} | ${c.ok ? 'yes' : '**no**'} |`),
  ].join('\n');
}
