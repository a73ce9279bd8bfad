/**
 * Reading valgrind's callgrind output for bench/instructions.ts: how many instructions a process
 * executed while instrumentation was on, and the per-request figures built from them.
 */
import { median } from './paired-rounds.js';

/**
 * The instructions executed (event `Ir`) in one callgrind dump: its `summary:` line (older
 * valgrinds write only `totals:`). Throws when the file has neither, or an `Ir` that is not a
 * plain count, rather than report a made-up figure.
 */
export function instructionsInDump(text: string): number {
  const events = /^events:\s*(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
  const column = events.indexOf('Ir');
  if (column < 0) throw new Error('callgrind dump: no Ir event (was it run with --tool=callgrind?)');
  const line = /^summary:\s*(.+)$/m.exec(text)?.[1] ?? /^totals:\s*(.+)$/m.exec(text)?.[1];
  if (line === undefined) throw new Error('callgrind dump: no summary or totals line');
  const value = line.trim().split(/\s+/)[column];
  if (value === undefined || !/^\d+$/.test(value)) throw new Error(`callgrind dump: Ir is ${JSON.stringify(value)}, not a count`);
  return Number(value);
}

export interface InstructionFigures {
  /** Instructions per request, one per round, in round order. */
  readonly perRequest: readonly number[];
  readonly median: number;
  /** (largest - smallest) / median over the rounds: how far this method moved for this app. */
  readonly spread: number;
}

export function instructionFigures(perRequest: readonly number[]): InstructionFigures {
  const middle = median(perRequest);
  return { perRequest, median: middle, spread: (Math.max(...perRequest) - Math.min(...perRequest)) / middle };
}

/**
 * The share of bare's throughput an app would reach if instructions were all that counted: a
 * request costing 3 % more instructions than bare's gives 1 / 1.03 = 97.1 % of bare.
 */
export const workRatio = (app: InstructionFigures, baseline: InstructionFigures): number => baseline.median / app.median;

/** Names (or name prefixes) of V8's C++ functions that bench/instructions.ts reports on their own. */
export const COST_GROUPS = {
  /** The garbage collector: scavenges and full collections, and incremental marking's steps. */
  gc: ['v8::internal::Heap::CollectGarbage(', 'v8::internal::IncrementalMarking::Step('],
  /** V8's runtime handlers for a property access its inline cache had no answer for. */
  icMisses: [
    'v8::internal::Runtime_LoadIC_Miss(',
    'v8::internal::Runtime_StoreIC_Miss(',
    'v8::internal::Runtime_KeyedLoadIC_Miss(',
    'v8::internal::Runtime_KeyedStoreIC_Miss(',
    'v8::internal::Runtime_DefineNamedOwnIC_Miss(',
    'v8::internal::Runtime_DefineKeyedOwnIC_Miss(',
  ],
} as const;

/**
 * Inclusive instructions per group, from `callgrind_annotate --inclusive=yes` output: each line
 * `<count> (<share>%)  <file>:<function> [<object>]`. A function called from another in the same
 * group (a GC started inside an IC miss) is counted in both groups; recursive re-entries (`'2`) are
 * inside their first entry's figure and are not added again.
 */
export function groupCosts<G extends string>(annotated: string, groups: Record<G, readonly string[]>): Record<G, number> {
  const totals = Object.fromEntries(Object.keys(groups).map((group) => [group, 0])) as Record<G, number>;
  for (const [name, count] of annotatedCosts(annotated)) {
    if (/'\d+(?: \[[^\]]*\])?$/.test(name)) continue;
    for (const group of Object.keys(groups) as G[]) {
      if (groups[group].some((prefix) => name.startsWith(prefix))) totals[group] += count;
    }
  }
  return totals;
}

/** The function lines of `callgrind_annotate` output, `<count> (<share>%)  <file>:<function> [<object>]`, as [function, count]. */
function* annotatedCosts(annotated: string): Generator<readonly [string, number]> {
  for (const line of annotated.split('\n')) {
    const match = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(?:[^:\s]*:)?(\S.*)$/.exec(line);
    if (match && !(match[2] as string).startsWith('PROGRAM TOTALS')) yield [match[2] as string, Number((match[1] as string).replace(/,/g, ''))];
  }
}

/** What executed an instruction, by the function callgrind charged it to (its self cost). */
export const CODE_KINDS = [
  'JavaScript (JIT-compiled code)',
  'inline-cache stubs (V8 builtins)',
  'other V8 builtins',
  'V8 runtime (C++)',
  'garbage collector',
  'Node.js, llhttp, libuv, libc, kernel entry',
] as const;
export type CodeKind = (typeof CODE_KINDS)[number];

/**
 * V8's heap code by class name. Approximate: the collector's helpers outside these classes (a
 * write barrier's slow path, say) count as V8 runtime; bench/instructions.ts gives the inclusive
 * collector figure (COST_GROUPS.gc) beside this.
 */
const GC_CODE = /^(heap::|v8::internal::(\w+::)?(Heap|Scaveng|Sweep|MarkCompact|MinorMarkCompact|Marking|IncrementalMarking|ConcurrentMarking|Evacuat|MemoryAllocator|PagedSpace|NewSpace|SemiSpace|LargeObjectSpace|BodyDescriptorBase|RememberedSet|SlotSet|MemoryChunk|GCTracer)\w*)/;

export function codeKind(name: string): CodeKind {
  // Code V8 generated at run time has no symbol: callgrind names it by address.
  if (/^0x[0-9a-f]+/.test(name)) return 'JavaScript (JIT-compiled code)';
  // LoadIC, KeyedLoadIC_Megamorphic, StoreICTrampoline, ...: "IC" followed by no lower-case letter.
  if (/^Builtins_\w*IC(?![a-z])/.test(name)) return 'inline-cache stubs (V8 builtins)';
  if (name.startsWith('Builtins_')) return 'other V8 builtins';
  if (GC_CODE.test(name)) return 'garbage collector';
  if (name.startsWith('v8::') || name.startsWith('std::') || name.startsWith('cppgc::')) return 'V8 runtime (C++)';
  return 'Node.js, llhttp, libuv, libc, kernel entry';
}

/**
 * Self instructions per kind of code, from `callgrind_annotate` output without `--inclusive`
 * (recursive re-entries, `'2`, are separate self costs and are added).
 */
export function selfCostsByKind(annotated: string): Record<CodeKind, number> {
  const totals = Object.fromEntries(CODE_KINDS.map((kind) => [kind, 0])) as Record<CodeKind, number>;
  for (const [name, count] of annotatedCosts(annotated)) totals[codeKind(name)] += count;
  return totals;
}

/** One line of the map V8 writes with `--perf-basic-prof` (`/tmp/perf-<pid>.map`): code at [start, end). */
export interface PerfMapEntry {
  readonly start: number;
  readonly end: number;
  /** V8's name: `JS:<tier><function> <script>:<line>:<column>` for JavaScript, `Builtin:...`, `RegExp:...`. */
  readonly name: string;
  /** Its line in the file: where two entries cover one address, the later one is the code that ran last there. */
  readonly order: number;
}

/** The map's entries (`<start hex> <size hex> <name>`), by start address. */
export function parsePerfMap(text: string): PerfMapEntry[] {
  const entries: PerfMapEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]+) ([0-9a-f]+) (.+)$/.exec(line);
    if (!match) continue;
    const start = parseInt(match[1] as string, 16);
    entries.push({ start, end: start + parseInt(match[2] as string, 16), name: match[3] as string, order: entries.length });
  }
  return entries.sort((a, b) => a.start - b.start || a.order - b.order);
}

/** The newest entry whose code covers `address`, or undefined. */
export function perfMapLookup(entries: readonly PerfMapEntry[], address: number, longest: number): PerfMapEntry | undefined {
  // The last entry starting at or before the address, then back over those that could still reach it.
  let low = 0;
  let high = entries.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if ((entries[middle] as PerfMapEntry).start <= address) low = middle + 1;
    else high = middle - 1;
  }
  let found: PerfMapEntry | undefined;
  for (let i = high; i >= 0; i--) {
    const entry = entries[i] as PerfMapEntry;
    if (entry.start + longest <= address) break;
    if (address < entry.end && (!found || entry.order > found.order)) found = entry;
  }
  return found;
}

/**
 * Self instructions by function, re-entries (`'2`) added to their function. Code V8 generated has
 * no symbol: callgrind names it by address (`0x000000000d046300`) in an unknown object (`[???]`),
 * and the perf map of the same process turns that into V8's name for it (`JS:*hot /app/x.js:1:13`).
 * Functions still run by the interpreter are not JavaScript here: their instructions belong to
 * its builtins (`Builtins_InterpreterEntryTrampoline`, the bytecode handlers). Generated code the
 * map does not cover adds up under "(generated code not in the perf map)".
 */
export function selfCostsByFunction(annotated: string, entries: readonly PerfMapEntry[]): Map<string, number> {
  const longest = entries.reduce((max, entry) => Math.max(max, entry.end - entry.start), 0);
  const costs = new Map<string, number>();
  for (const [raw, count] of annotatedCosts(annotated)) {
    const name = raw.replace(/'\d+( \[[^\]]*\])?$/, '$1');
    const address = /^0x([0-9a-f]+) \[\?\?\?\]$/.exec(name)?.[1];
    const owner = address === undefined ? name : (perfMapLookup(entries, parseInt(address, 16), longest)?.name ?? '(generated code not in the perf map)');
    costs.set(owner, (costs.get(owner) ?? 0) + count);
  }
  return costs;
}

/** The script a perf-map JavaScript name points at (`JS:*hot /app/x.js:1:13` -> `/app/x.js`), or '' for other code. */
export function perfMapScript(name: string): string {
  // The last word: a function's own name may have spaces (`get foo`) or be empty.
  const match = /^JS:.* (\S+):\d+:\d+$/.exec(name);
  return match ? (match[1] as string) : '';
}
