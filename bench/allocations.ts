/**
 * `npm run bench:allocations` (about 2 minutes): how many bytes of JavaScript heap a GET /me
 * allocates in each app, and where, from V8's sampling heap profiler in the app process under load.
 *
 * What a request allocates, the collector must later sweep: in bench:instructions, ours on Express
 * paid up to three times bare's collector instructions per read. Allocations are counted per
 * request and do not depend on the host's speed, so this tells which allocations are ours and
 * which are the framework's. The profiler samples an allocation every 128 bytes on average and
 * scales the samples up (V8's estimate, not an exact count); objects already collected are kept in.
 *
 * Each app of bench/lib/read-path-apps.ts, under the same load as bench:profile (autocannon, 32
 * connections, in this process, 3 s warm-up), profiled for ALLOC_SECONDS (5).
 *
 * Environment: ALLOC_ADAPTERS (express,fastify), ALLOC_SECONDS (5), ALLOC_TOP (10: the functions
 * listed per app).
 */
import { join } from 'node:path';
import { CATEGORIES } from './lib/cpu-profile.js';
import { summarizeAllocations, type AllocationSummary, type HeapProfile } from './lib/heap-profile.js';
import { PROFILED_LOAD, profiledRun } from './lib/profiled-run.js';
import { readPathReport, type Adapter } from './lib/read-path-apps.js';

const env = process.env;
const ADAPTERS = (env.ALLOC_ADAPTERS ?? 'express,fastify').split(',') as Adapter[];
const SECONDS = Number(env.ALLOC_SECONDS ?? 5);
const TOP = Number(env.ALLOC_TOP ?? 10);

interface Sampled {
  readonly label: string;
  readonly summary: AllocationSummary;
}

const kb = (bytes: number) => (bytes / 1024).toFixed(2);

function table(adapter: Adapter, apps: readonly Sampled[]): string[] {
  const [bare] = apps as [Sampled];
  const lines = [
    `**${adapter}**: KB allocated per GET /me`,
    '',
    `| where | ${apps.map((a) => a.label).join(' | ')} |`,
    `|---|${apps.map(() => '--:').join('|')}|`,
    ...CATEGORIES.filter((category) => category !== 'garbage collector').map(
      (category) => `| ${category} | ${apps.map((a) => kb(a.summary.byCategory.get(category) ?? 0)).join(' | ')} |`,
    ),
    `| **all** | ${apps.map((a) => kb(a.summary.bytes)).join(' | ')} |`,
    `| above bare | ${apps.map((a) => kb(a.summary.bytes - bare.summary.bytes)).join(' | ')} |`,
    '',
  ];
  const list = (functions: AllocationSummary['functions']) => functions.slice(0, TOP).map(([name, bytes]) => `- ${Math.round(bytes)} ${name}`);
  for (const app of apps) {
    lines.push(`The ${TOP} functions that allocate most in "${app.label}" (bytes per request):`, ...list(app.summary.functions), '');
    if (app.summary.libraryFunctions.length === 0) continue;
    lines.push(`This library's, in "${app.label}":`, ...list(app.summary.libraryFunctions), '');
  }
  return lines;
}

const report = await readPathReport<Sampled>({
  adapters: ADAPTERS,
  header: [`Node ${process.version}; ${PROFILED_LOAD}, ${SECONDS} s sampled per app, an allocation sampled every 128 bytes`],
  measure: async (adapter, setup, redisUrl, dir, position) => {
    const run = await profiledRun(adapter, setup, redisUrl, join(dir, `${adapter}-${position}.heapprofile`), 'heap', SECONDS);
    return ({ label: setup.label, summary: summarizeAllocations(run.profile as HeapProfile, run.requests) });
  },
  table,
});
process.stdout.write(`\n${report}\n`);
