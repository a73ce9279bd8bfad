import { describe, expect, it } from '@jest/globals';
import { codeKind, groupCosts, instructionFigures, instructionsInDump, selfCostsByFunction, parsePerfMap, perfMapLookup, perfMapScript, selfCostsByKind, workRatio } from './callgrind.js';

const dump = (events: string, summary: string | null, totals: string | null = null) =>
  ['# callgrind format', 'version: 1', 'cmd: node main.js', `events: ${events}`, 'fl=(1) x', 'fn=(1) y', '16 3', summary === null ? '' : `summary: ${summary}`, totals === null ? '' : `totals: ${totals}`].join('\n');

describe('instructionsInDump', () => {
  it('reads Ir from the summary line', () => {
    expect(instructionsInDump(dump('Ir', '719641213'))).toBe(719_641_213);
  });

  it('takes the Ir column when more events were collected', () => {
    expect(instructionsInDump(dump('Dr Ir Dw', '5 1234 7'))).toBe(1234);
  });

  it('falls back to the totals line', () => {
    expect(instructionsInDump(dump('Ir', null, '42'))).toBe(42);
  });

  it('refuses a dump it cannot read instead of guessing', () => {
    expect(() => instructionsInDump(dump('Dr Dw', '1 2'))).toThrow(/no Ir event/);
    expect(() => instructionsInDump(dump('Ir', null))).toThrow(/no summary or totals/);
    expect(() => instructionsInDump(dump('Ir', '-5'))).toThrow(/not a count/);
    expect(() => instructionsInDump(dump('Dr Ir', '7'))).toThrow(/not a count/);
  });
});

describe('the figures built on the median (bench/lib/paired-rounds.ts)', () => {
  it('keeps the rounds in order and reports their spread around the median', () => {
    const figures = instructionFigures([731_613, 652_188, 652_440]);
    expect(figures.perRequest).toEqual([731_613, 652_188, 652_440]);
    expect(figures.median).toBe(652_440);
    expect(figures.spread).toBeCloseTo((731_613 - 652_188) / 652_440, 10);
  });

  it('turns instructions into a share of bare: 3 % more work reads as 1 / 1.03 of bare', () => {
    expect(workRatio(instructionFigures([103]), instructionFigures([100]))).toBeCloseTo(0.9709, 4);
    expect(workRatio(instructionFigures([100]), instructionFigures([100]))).toBe(1);
  });
});

describe('groupCosts', () => {
  const annotated = [
    '--------------------------------------------------------------------------------',
    'Ir                     file:function',
    '713,494,528 (92.76%)  ???:v8::Function::Call(v8::Local<v8::Context>, v8::Local<v8::Value>, int, v8::Local<v8::Value>*) [/usr/bin/node]',
    '215,722,826 (28.05%)  ???:v8::internal::Runtime_LoadIC_Miss(int, unsigned long*, v8::internal::Isolate*) [/usr/bin/node]',
    '187,364,370 (24.36%)  ???:v8::internal::Runtime_StoreIC_Miss(int, unsigned long*, v8::internal::Isolate*) [/usr/bin/node]',
    ' 99,000,000 (12.87%)  ???:v8::internal::Runtime_StoreIC_Miss(int, unsigned long*, v8::internal::Isolate*)\'2 [/usr/bin/node]',
    ' 36,912,597 ( 4.80%)  ???:v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace, v8::internal::GarbageCollectionReason, v8::GCCallbackFlags) [/usr/bin/node]',
    ' 36,844,685 ( 4.79%)  ???:v8::internal::Heap::PerformGarbageCollection(v8::internal::GarbageCollector, v8::internal::GarbageCollectionReason, char const*) [/usr/bin/node]',
    '  1,000,000 ( 0.13%)  ???:v8::internal::IncrementalMarking::Step(double, v8::internal::StepOrigin) [/usr/bin/node]',
  ].join('\n');

  it('adds the inclusive figures of each group\'s functions, once each, nested callees and re-entries left out', () => {
    expect(groupCosts(annotated, { gc: ['v8::internal::Heap::CollectGarbage(', 'v8::internal::IncrementalMarking::Step('], ic: ['v8::internal::Runtime_LoadIC_Miss(', 'v8::internal::Runtime_StoreIC_Miss('] })).toEqual({
      gc: 37_912_597,
      ic: 403_087_196,
    });
  });

  it('gives 0 for a group none of whose functions ran', () => {
    expect(groupCosts(annotated, { none: ['v8::internal::Runtime_KeyedStoreIC_Miss('] })).toEqual({ none: 0 });
  });
});

describe('codeKind and selfCostsByKind', () => {
  it.each([
    ['0x000000000d1eb600', 'JavaScript (JIT-compiled code)'],
    ["0x000000000d1eb600'2", 'JavaScript (JIT-compiled code)'],
    ['Builtins_LoadIC', 'inline-cache stubs (V8 builtins)'],
    ['Builtins_KeyedLoadIC_Megamorphic', 'inline-cache stubs (V8 builtins)'],
    ["Builtins_LoadIC_Megamorphic'2", 'inline-cache stubs (V8 builtins)'],
    ['Builtins_StoreICTrampoline', 'inline-cache stubs (V8 builtins)'],
    ['Builtins_ArrayIteratorPrototypeNext', 'other V8 builtins'],
    ['Builtins_WeakMapLookupHashIndex', 'other V8 builtins'],
    ['v8::internal::Runtime_LoadIC_Miss(int, unsigned long*, v8::internal::Isolate*)', 'V8 runtime (C++)'],
    ['v8::internal::JSObject::MigrateToMap(v8::internal::Isolate*)', 'V8 runtime (C++)'],
    ['v8::internal::Scavenger::Process(v8::JobDelegate*)', 'garbage collector'],
    ['heap::base::SlotCallbackResult v8::internal::Scavenger::ScavengeObject<x>(y)', 'garbage collector'],
    ['v8::internal::Sweeper::RawSweep(v8::internal::Page*)', 'garbage collector'],
    ['llhttp__internal_execute', 'Node.js, llhttp, libuv, libc, kernel entry'],
    ['./malloc/./malloc/malloc.c:_int_malloc', 'Node.js, llhttp, libuv, libc, kernel entry'],
  ])('%s: %s', (name, kind) => {
    expect(codeKind(name)).toBe(kind);
  });

  it('adds every self cost, re-entries included, and leaves out the program total', () => {
    const annotated = [
      '674,250,956 (100.0%)  PROGRAM TOTALS',
      '94,536,627 (14.02%)  ???:v8::internal::LookupIterator::FetchValue() const [/usr/bin/node]',
      '15,779,983 ( 2.34%)  ???:Builtins_LoadIC [/usr/bin/node]',
      ' 2,000,000 ( 0.30%)  ???:0x000000000d1eb600 [???]',
      ' 1,000,000 ( 0.15%)  ???:0x000000000d1eb600\'2 [???]',
      '   500,000 ( 0.07%)  ./malloc/./malloc/malloc.c:malloc [/usr/lib/x86_64-linux-gnu/libc.so.6]',
    ].join('\n');
    expect(selfCostsByKind(annotated)).toEqual({
      'JavaScript (JIT-compiled code)': 3_000_000,
      'inline-cache stubs (V8 builtins)': 15_779_983,
      'other V8 builtins': 0,
      'V8 runtime (C++)': 94_536_627,
      'garbage collector': 0,
      'Node.js, llhttp, libuv, libc, kernel entry': 500_000,
    });
  });
});

describe('the perf map (--perf-basic-prof) and JIT-compiled code', () => {
  const map = [
    '18c4000 300 Builtin:DeoptimizationEntry_Eager',
    'd045b80 130 JS:^hot /tmp/t.js:1:13',
    'd046300 1c0 JS:*hot /tmp/t.js:1:13',
    'd046500 298 JS:*get response /app/node_modules/@nestjs/core/x.js:4:2',
    // The same address reused later by other code: the newer entry is what ran there last.
    'd045b80 40 JS:*  node:internal/streams/readable:10:3',
  ].join('\n');
  const annotated = [
    '43,585,740 ( 7.04%)  ???:0x000000000d046300 [???]',
    '       100 ( 0.00%)  ???:0x000000000d0463ff\'2 [???]',
    '     2,000 ( 0.00%)  ???:0x000000000d046510 [???]',
    '        50 ( 0.00%)  ???:0x000000000d045b90 [???]',
    '         7 ( 0.00%)  ???:0x000000000d045bf0 [???]',
    '         9 ( 0.00%)  ???:0x0000000000000001 [???]',
    '     5,948 ( 0.00%)  ???:0x0000000000123200 [/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30]',
    '32,364,855 ( 5.23%)  ./malloc/./malloc/malloc.c:_int_free [/usr/lib/x86_64-linux-gnu/libc.so.6]',
  ].join('\n');

  it('parses entries by start address, keeping their order in the file', () => {
    const entries = parsePerfMap(map);
    expect(entries.map((e) => e.start.toString(16))).toEqual(['18c4000', 'd045b80', 'd045b80', 'd046300', 'd046500']);
    expect(entries[1]).toMatchObject({ end: 0xd045b80 + 0x130, order: 1 });
  });

  it('finds the newest entry covering an address, and none past every end', () => {
    const entries = parsePerfMap(map);
    expect(perfMapLookup(entries, 0xd045b90, 0x300)?.name).toBe('JS:*  node:internal/streams/readable:10:3');
    expect(perfMapLookup(entries, 0xd045bf0, 0x300)?.name).toBe('JS:^hot /tmp/t.js:1:13');
    expect(perfMapLookup(entries, 0xd0464bf, 0x300)?.name).toBe('JS:*hot /tmp/t.js:1:13');
    expect(perfMapLookup(entries, 0xd0464c0, 0x300)).toBeUndefined();
    expect(perfMapLookup(entries, 0xd046798, 0x300)).toBeUndefined();
    expect(perfMapLookup(entries, 0x100, 0x300)).toBeUndefined();
  });

  it('adds self costs by function, re-entries included: generated code by its perf-map name, the rest by symbol', () => {
    expect(Object.fromEntries(selfCostsByFunction(annotated, parsePerfMap(map)))).toEqual({
      'JS:*hot /tmp/t.js:1:13': 43_585_840,
      'JS:*get response /app/node_modules/@nestjs/core/x.js:4:2': 2_000,
      'JS:*  node:internal/streams/readable:10:3': 50,
      'JS:^hot /tmp/t.js:1:13': 7,
      '(generated code not in the perf map)': 9,
      '0x0000000000123200 [/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30]': 5_948,
      '_int_free [/usr/lib/x86_64-linux-gnu/libc.so.6]': 32_364_855,
    });
  });

  it('takes the script from a JavaScript name, whatever the function is called', () => {
    expect(perfMapScript('JS:*hot /tmp/t.js:1:13')).toBe('/tmp/t.js');
    expect(perfMapScript('JS:*get response /app/node_modules/@nestjs/core/x.js:4:2')).toBe('/app/node_modules/@nestjs/core/x.js');
    expect(perfMapScript('JS:*  node:internal/streams/readable:10:3')).toBe('node:internal/streams/readable');
    expect(perfMapScript('Builtin:DeoptimizationEntry_Eager')).toBe('');
  });
});
