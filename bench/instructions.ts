/**
 * `npm run bench:instructions` (about 8 minutes; needs valgrind): how many machine instructions a
 * GET /me costs each app, counted by valgrind's callgrind, beside bare's.
 *
 * Requests per second on this shared 2-core host move by more than the margins the targets leave
 * (bare against bare: 67-196 % in single rounds). An instruction count does not depend on the
 * host's speed or on what else runs. It is not time either: it leaves out cache misses, the
 * kernel's work (a socket write, which on loopback also runs the receiver's TCP code) and the
 * timing effects the HTTP benchmark sees; it counts the work the app's own process does.
 *
 * Each app (bench/lib/read-path-apps.ts) runs under callgrind with instrumentation off; 100
 * sessions sign in, WARMUP (10,000) reads warm it up, then instrumentation is switched on and
 * WINDOWS (5) windows of REQUESTS (1,000) reads are counted, each dumped on its own. The reads
 * come one at a time on one connection, kept open throughout, so no batching differs between apps. A window's
 * figure includes whatever the garbage collector did in it, which comes in lumps (a full
 * collection in one window of five), so the figures are also given without it, and the median
 * window is the estimate. V8 runs with --predictable (no background compiler or GC threads).
 * A second table splits each app's quietest window by the kind of code that ran (JIT-compiled
 * JavaScript, V8's inline-cache stubs and other builtins, its C++ runtime, the collector, Node and
 * the C libraries). JavaScript has no symbols under callgrind: the apps run with
 * `--perf-basic-prof`, and the map V8 writes of its generated code names the addresses callgrind
 * reports, so two more tables split the quietest window's JIT-compiled JavaScript by whose code it
 * is and list the functions that cost ours (near-cache, on-send) most above bare; a last one gives
 * this library's costliest functions with everything they called (inclusive), which unlike a
 * window's total does not move with the collector's lumps.
 *
 * Environment: INSTR_ADAPTERS (express,fastify), INSTR_WINDOWS (5), INSTR_REQUESTS (1000),
 * INSTR_WARMUP (10000).
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startApp } from './lib/app-process.js';
import {
  CODE_KINDS,
  COST_GROUPS,
  groupCosts,
  instructionFigures,
  instructionsInDump,
  selfCostsByFunction,
  parsePerfMap,
  perfMapScript,
  selfCostsByKind,
  workRatio,
  type CodeKind,
  type InstructionFigures,
} from './lib/callgrind.js';
import { CATEGORIES, categorize, type Category } from './lib/cpu-profile.js';
import { openReader } from './lib/load.js';
import { OURS_POSITION, readCredentials, readPathReport, type Adapter, type AppSetup } from './lib/read-path-apps.js';

const run = promisify(execFile);
const annotate = (...args: string[]) => run('callgrind_annotate', ['--threshold=100', ...args], { maxBuffer: 256 * 1024 * 1024 });
const env = process.env;
const ADAPTERS = (env.INSTR_ADAPTERS ?? 'express,fastify').split(',') as Adapter[];
const WINDOWS = Number(env.INSTR_WINDOWS ?? 5);
const REQUESTS = Number(env.INSTR_REQUESTS ?? 1000);
const WARMUP = Number(env.INSTR_WARMUP ?? 10000);
const SESSIONS = 100;
/**
 * No background compiler or GC threads; and a young generation of one fixed size, which V8
 * otherwise grows from what survived earlier collections: bare Fastify, left to that, spent 43,000
 * instructions per read in the collector against our app's 1,000, a history of the heap rather
 * than a cost of the read.
 */
const V8_FLAGS = ['--predictable', '--min-semi-space-size=16', '--max-semi-space-size=16'];
/**
 * The map of generated code (`/tmp/perf-<pid>.map`) that names JavaScript; code is never moved, so
 * the map stays true. V8 then also writes a log of code events to its working directory: the
 * report's scratch folder.
 */
const PERF_MAP_FLAGS = ['--perf-basic-prof', '--no-compact-code-space'];
const TOP_FUNCTIONS = 15;

interface Counted {
  readonly label: string;
  readonly total: InstructionFigures;
  readonly withoutGc: InstructionFigures;
  readonly gc: InstructionFigures;
  readonly icMisses: InstructionFigures;
  /**
   * The quietest window's own instructions per request by kind of code (self costs; they add up
   * to its total). The quietest: the collector's lumps land in different windows in each app.
   */
  readonly kinds: Record<CodeKind, number>;
  /** The quietest window's JIT-compiled JavaScript per request, by whose code it is. */
  readonly jsByOwner: Record<Category, number>;
  /** ... and its instructions per request by function: JavaScript by V8's name without its tier marker, the rest by symbol. */
  readonly functions: ReadonlyMap<string, number>;
  /** ... and this library's functions with everything they called (inclusive costs; nested functions overlap). */
  readonly libraryInclusive: ReadonlyMap<string, number>;
}

async function requireTools(): Promise<void> {
  for (const tool of ['valgrind', 'callgrind_control', 'callgrind_annotate']) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      throw new Error(`${tool} is not on PATH: bench:instructions needs valgrind (apt-get install -y valgrind)`);
    }
  }
}

/** `out` names the app's callgrind file; window n's dump is `<out>.<n>`. */
async function countApp(adapter: Adapter, setup: AppSetup, redisUrl: string, out: string): Promise<Counted> {
  const wrapper = ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`];
  const app = await startApp({ ...setup.env, BENCH_ADAPTER: adapter, REDIS_URL: redisUrl, BENCH_COMMAND_TIMEOUT_MS: '30000' }, [...V8_FLAGS, ...PERF_MAP_FLAGS], wrapper, dirname(out));
  const perfMap = `/tmp/perf-${app.pid}.map`;
  const reader = openReader(app.url, 1);
  const windows = { total: [] as number[], withoutGc: [] as number[], gc: [] as number[], icMisses: [] as number[] };
  try {
    const credentials = await readCredentials(setup.env, app.url, SESSIONS);
    await reader.send(credentials, WARMUP);
    await run('callgrind_control', ['--instr=on', String(app.pid)]);
    for (let window = 1; window <= WINDOWS; window++) {
      await reader.send(credentials, REQUESTS);
      // A dump zeroes the counters: each window is counted on its own.
      await run('callgrind_control', ['--dump', String(app.pid)]);
      const dump = `${out}.${window}`;
      const total = instructionsInDump(readFileSync(dump, 'utf8'));
      const { stdout } = await annotate('--inclusive=yes', dump);
      const groups = groupCosts(stdout, COST_GROUPS);
      windows.total.push(total / REQUESTS);
      windows.gc.push(groups.gc / REQUESTS);
      windows.withoutGc.push((total - groups.gc) / REQUESTS);
      windows.icMisses.push(groups.icMisses / REQUESTS);
    }
  } finally {
    reader.close();
    await app.stop();
  }
  let entries;
  try {
    entries = parsePerfMap(readFileSync(perfMap, 'utf8'));
  } finally {
    rmSync(perfMap, { force: true });
  }
  // Windows are numbered from 1; the dumps stay until the report's scratch folder goes.
  const quietest = `${out}.${windows.total.indexOf(Math.min(...windows.total)) + 1}`;
  const { stdout: self } = await annotate(quietest);
  const kinds = selfCostsByKind(self);
  const { stdout: inclusive } = await annotate('--inclusive=yes', quietest);
  const libraryInclusive = new Map<string, number>();
  for (const [name, count] of selfCostsByFunction(inclusive, entries)) {
    if (!name.startsWith('JS:') || categorize({ url: perfMapScript(name), functionName: name, lineNumber: 0 }) !== 'this library') continue;
    const key = name.replace(/^JS:[*^~+]?/, 'JS ');
    libraryInclusive.set(key, (libraryInclusive.get(key) ?? 0) + count / REQUESTS);
  }
  const jsByOwner = Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Record<Category, number>;
  const functions = new Map<string, number>();
  for (const [name, count] of selfCostsByFunction(self, entries)) {
    if (name.startsWith('JS:') || name.startsWith('RegExp:')) {
      const owner = categorize({ url: perfMapScript(name), functionName: name, lineNumber: 0 });
      if (owner !== 'idle') jsByOwner[owner] += count / REQUESTS;
    }
    const key = name.replace(/^JS:[*^~+]?/, 'JS ');
    functions.set(key, (functions.get(key) ?? 0) + count / REQUESTS);
  }
  return {
    jsByOwner,
    functions,
    libraryInclusive,
    label: setup.label,
    total: instructionFigures(windows.total),
    withoutGc: instructionFigures(windows.withoutGc),
    gc: instructionFigures(windows.gc),
    icMisses: instructionFigures(windows.icMisses),
    kinds: Object.fromEntries(CODE_KINDS.map((kind) => [kind, kinds[kind] / REQUESTS])) as Record<CodeKind, number>,
  };
}

const thousands = (value: number) => `${(value / 1000).toFixed(1)}k`;
const percent = (value: number) => `${(value * 100).toFixed(1)} %`;

function table(adapter: Adapter, apps: readonly Counted[]): string[] {
  const [bare] = apps as [Counted];
  const other = apps[apps.length - 1] as Counted;
  return [
    `**${adapter}**: instructions per GET /me, median of ${WINDOWS} windows of ${REQUESTS.toLocaleString('en-US')} reads (spread: largest - smallest window, against the median)`,
    '',
    '| app | all | × bare (work) | × ' + other.label.split(' ')[0] + ' (work) | without GC | × bare, without GC | GC | V8 inline-cache misses | windows, all (k) |',
    '|---|--:|--:|--:|--:|--:|--:|--:|---|',
    ...apps.map(
      (app) =>
        `| ${app.label} | ${thousands(app.total.median)} (spread ${percent(app.total.spread)}) | ${percent(workRatio(app.total, bare.total))} | ` +
        `${(other.total.median / app.total.median).toFixed(2)}x | ${thousands(app.withoutGc.median)} (spread ${percent(app.withoutGc.spread)}) | ` +
        `${percent(workRatio(app.withoutGc, bare.withoutGc))} | ${thousands(app.gc.median)} | ${thousands(app.icMisses.median)} | ` +
        `${app.total.perRequest.map((value) => (value / 1000).toFixed(0)).join(', ')} |`,
    ),
    '',
    `**${adapter}**: instructions per GET /me in each app's quietest window (the fewest instructions: the least collector work), by the kind of code that executed them (self costs; the collector row counts its own classes only, its helpers are V8 runtime)`,
    '',
    `| code | ${apps.map((app) => app.label).join(' | ')} | ${apps[OURS_POSITION]?.label} above bare |`,
    `|---|${apps.map(() => '--:').join('|')}|--:|`,
    ...CODE_KINDS.map(
      (kind) =>
        `| ${kind} | ${apps.map((app) => thousands(app.kinds[kind])).join(' | ')} | ${signedThousands((apps[OURS_POSITION]?.kinds[kind] ?? 0) - bare.kinds[kind])} |`,
    ),
    '',
    ...javascriptTables(adapter, apps),
  ];
}

/** The quietest windows' JIT-compiled JavaScript by owner, the functions that cost ours (OURS_POSITION) most above bare, and this library's inclusive costs. */
function javascriptTables(adapter: Adapter, apps: readonly Counted[]): string[] {
  const bare = apps[0] as Counted;
  const ours = apps[OURS_POSITION] as Counted;
  const owners = CATEGORIES.filter((owner) => apps.some((app) => app.jsByOwner[owner] >= 50));
  const above = [...new Set([...ours.functions.keys(), ...bare.functions.keys()])]
    .map((name) => ({ name, ours: ours.functions.get(name) ?? 0, bare: bare.functions.get(name) ?? 0 }))
    .sort((a, b) => b.ours - b.bare - (a.ours - a.bare))
    .slice(0, TOP_FUNCTIONS);
  return [
    `**${adapter}**: JIT-compiled JavaScript per GET /me in the same windows, by whose code it is (functions still run by the interpreter count as V8 builtins above)`,
    '',
    `| owner | ${apps.map((app) => app.label).join(' | ')} | ${ours.label} above bare |`,
    `|---|${apps.map(() => '--:').join('|')}|--:|`,
    ...owners.map(
      (owner) => `| ${owner} | ${apps.map((app) => thousands(app.jsByOwner[owner])).join(' | ')} | ${signedThousands(ours.jsByOwner[owner] - bare.jsByOwner[owner])} |`,
    ),
    '',
    `**${adapter}**: the ${TOP_FUNCTIONS} functions with the most instructions per GET /me above bare in "${ours.label}", in the same windows (self costs; JavaScript by V8's name, its compiled tiers together; one function's figure also moves with what the compiler inlined into it, which can differ between two apps)`,
    '',
    `| function | ${ours.label} | bare | above bare |`,
    '|---|--:|--:|--:|',
    ...above.map((f) => `| \`${shortScript(f.name)}\` | ${count(f.ours)} | ${count(f.bare)} | ${f.ours >= f.bare ? '+' : ''}${count(f.ours - f.bare)} |`),
    '',
    `**${adapter}**: this library's ${TOP_FUNCTIONS} costliest functions in "${ours.label}" with everything they called (inclusive instructions per GET /me, same window; a function's row includes the rows of those it called, so rows nest)`,
    '',
    '| function | inclusive |',
    '|---|--:|',
    ...[...ours.libraryInclusive]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP_FUNCTIONS)
      .map(([name, value]) => `| \`${shortScript(name)}\` | ${count(value)} |`),
    '',
  ];
}

/** `fn /work/x/node_modules/@nestjs/core/a.js:1:2` -> `fn @nestjs/core/a.js:1:2`; the library's and the app's paths from their folder. */
const shortScript = (name: string): string => {
  const short = name
    .replace(/ \S*\/node_modules\//, ' ')
    .replace(/ \S*\/(libs\/session\/|bench\/)/, ' $1')
    .replace(/ file:\/\//, ' ')
    .replace(/ \[\/usr\/bin\/node\]$/, '');
  return short.length > 120 ? `${short.slice(0, 117)}...` : short;
};

const count = (value: number) => Math.round(value).toLocaleString('en-US');
const signedThousands = (value: number) => `${value >= 0 ? '+' : ''}${thousands(value)}`;

await requireTools();
const report = await readPathReport<Counted>({
  adapters: ADAPTERS,
  header: [
    `Node ${process.version} ${V8_FLAGS.join(' ')} under valgrind's callgrind; ${SESSIONS} sessions, ${WARMUP.toLocaleString('en-US')} reads of warm-up, one request at a time on one connection.`,
    '"× bare (work)": bare\'s instructions per request over the app\'s, the share of bare\'s throughput the app would reach if instructions were all that counted.',
  ],
  measure: (adapter, setup, redisUrl, dir, position) => countApp(adapter, setup, redisUrl, join(dir, `${adapter}-${position}.out`)),
  table,
  progress: (counted) => `${counted.total.perRequest.map((v) => Math.round(v)).join(', ')} instructions per request`,
});
process.stdout.write(`\n${report}\n`);
