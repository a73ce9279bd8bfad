import { describe, expect, it } from '@jest/globals';
import { functionName, summarizeAllocations, type HeapProfileNode } from './heap-profile.js';

const node = (name: string, url: string, selfSize: number, children: HeapProfileNode[] = []): HeapProfileNode => ({
  callFrame: { functionName: name, url, lineNumber: 9 },
  selfSize,
  children,
});

const LIBRARY = 'file:///w/bench/.build/libs/session/src/session-loader.js';
const ROUTER = 'file:///w/node_modules/router/index.js';

describe('functionName', () => {
  it('names a function by its file inside its package or the library, and its 1-based line', () => {
    expect(functionName(node('withCredential', LIBRARY, 0).callFrame)).toBe('withCredential (session-loader.js:10)');
    expect(functionName(node('next', ROUTER, 0).callFrame)).toBe('next (router/index.js:10)');
    expect(functionName(node('', 'node:events', 0).callFrame)).toBe('(anonymous) (node:events:10)');
    expect(functionName(node('(V8 API)', '', 0).callFrame)).toBe('(V8 API)');
  });
});

describe('summarizeAllocations', () => {
  it('adds self sizes per category and per function through the whole tree, per request', () => {
    const profile = {
      head: node('(root)', '', 0, [
        node('handle', ROUTER, 400, [node('withCredential', LIBRARY, 300), node('next', ROUTER, 100, [node('withCredential', LIBRARY, 100)])]),
        node('emit', 'node:events', 200),
      ]),
    };
    const summary = summarizeAllocations(profile, 4);
    expect(summary.bytes).toBe(275);
    expect(summary.byCategory.get('this library')).toBe(100);
    expect(summary.byCategory.get('HTTP framework and its packages')).toBe(125);
    expect(summary.byCategory.get('Node.js internals (node:*)')).toBe(50);
    // One function called from two places is one entry.
    expect(summary.functions).toEqual([
      ['handle (router/index.js:10)', 100],
      ['withCredential (session-loader.js:10)', 100],
      ['emit (node:events:10)', 50],
      ['next (router/index.js:10)', 25],
    ]);
    expect(summary.libraryFunctions).toEqual([['withCredential (session-loader.js:10)', 100]]);
  });

  it('walks a tree deeper than the call stack allows a recursive walk', () => {
    let deepest = node('leaf', ROUTER, 8);
    for (let depth = 0; depth < 20_000; depth++) deepest = node('frame', ROUTER, 0, [deepest]);
    expect(summarizeAllocations({ head: deepest }, 1).bytes).toBe(8);
  });
});
