/**
 * Where an app's allocations come from, from a V8 sampling heap profile (the
 * `HeapProfiler.stopSampling` result, taken with the objects the collector already freed kept in):
 * bytes allocated per request, summed by what the code belongs to. For bench/allocations.ts.
 */
import { CATEGORIES, categorize, type Category, type CpuProfileNode } from './cpu-profile.js';

export interface HeapProfileNode {
  readonly callFrame: CpuProfileNode['callFrame'];
  /** V8's estimate of the bytes this function allocated itself (the samples scaled by the sampling rate). */
  readonly selfSize: number;
  readonly children: readonly HeapProfileNode[];
}

export interface HeapProfile {
  readonly head: HeapProfileNode;
}

export interface AllocationSummary {
  readonly bytes: number;
  readonly byCategory: ReadonlyMap<Category, number>;
  /** Per function (name, file and line), bytes per request, largest first. */
  readonly functions: ReadonlyArray<readonly [string, number]>;
  /** The same for this library's functions alone. */
  readonly libraryFunctions: ReadonlyArray<readonly [string, number]>;
}

const PACKAGE_PATH = /^.*\/(node_modules\/|libs\/session\/src\/|bench\/)/;

export function functionName(frame: CpuProfileNode['callFrame']): string {
  const file = frame.url.replace(PACKAGE_PATH, '');
  return file ? `${frame.functionName || '(anonymous)'} (${file}:${frame.lineNumber + 1})` : frame.functionName || '(anonymous)';
}

export function summarizeAllocations(profile: HeapProfile, requests: number): AllocationSummary {
  const byCategory = new Map<Category, number>(CATEGORIES.map((category) => [category, 0]));
  const functions = new Map<string, number>();
  const library = new Set<string>();
  let bytes = 0;
  const pending: HeapProfileNode[] = [profile.head];
  // Iterative: a deep async stack would overflow a recursive walk.
  for (let node = pending.pop(); node; node = pending.pop()) {
    pending.push(...node.children);
    if (node.selfSize === 0) continue;
    const category = categorize(node.callFrame);
    // The sampler counts no idle time, but keep its bytes anywhere rather than lose them.
    const counted: Category = category === 'idle' ? 'V8 and native code (system calls, builtins)' : category;
    bytes += node.selfSize;
    byCategory.set(counted, (byCategory.get(counted) ?? 0) + node.selfSize);
    const name = functionName(node.callFrame);
    functions.set(name, (functions.get(name) ?? 0) + node.selfSize);
    if (category === 'this library') library.add(name);
  }
  const perRequest = (total: number) => total / requests;
  const ranked = [...functions].map(([name, total]) => [name, perRequest(total)] as const).sort((a, b) => b[1] - a[1]);
  return {
    bytes: perRequest(bytes),
    byCategory: new Map([...byCategory].map(([category, total]) => [category, perRequest(total)])),
    functions: ranked,
    libraryFunctions: ranked.filter(([name]) => library.has(name)),
  };
}
