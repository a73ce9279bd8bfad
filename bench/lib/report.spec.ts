import { describe, expect, it } from '@jest/globals';
import type { BenchResults, PathResult, Variant } from './model.js';
import { targetChecks } from './report.js';

const variant = (id: string, rest: Partial<Variant>): Variant => ({ id, label: id, adapter: 'express', stack: 'ours', topology: 'standalone', ...rest });

function read(v: Variant, roundRps: number[], extra: Partial<PathResult> = {}): PathResult {
  return {
    variant: v,
    path: 'GET /me',
    requests: 1000,
    rps: Math.max(...roundRps),
    p50: 1,
    p99: 2,
    failed: 0,
    roundTrips: v.stack === 'ours' ? (v.cache ? 0 : 1) : 0,
    roundTripCommands: [],
    commands: 1,
    bytesIn: 100,
    bytesOut: 100,
    redisUsec: 5,
    redisCpuUs: 10,
    appCpuUs: 1e6 / Math.max(...roundRps),
    stealPercent: 0,
    roundRps,
    ...extra,
  };
}

function results(paths: PathResult[]): BenchResults {
  return {
    startedAt: '',
    finishedAt: '',
    host: { cpus: 2, node: 'v20', redis: 'v=7', loadAverage: [0, 0, 0], speed: { loopMs: 1, loopbackRoundTripUs: 1 } },
    config: { connections: 32, seconds: 3, warmupSeconds: 2, sessions: 100, quick: false },
    paths,
    large: [],
    memory: [],
    notes: [],
  };
}

const bare = read(variant('bare', { stack: 'bare' }), [1000, 900]);
const expressSession = read(variant('es', { stack: 'express-session' }), [600, 700]);

describe('targetChecks', () => {
  it('judges each ratio on the fastest runs and shows it round by round', () => {
    const ours = read(variant('ours', { strategy: 'session-id' }), [840, 880]);
    const checks = targetChecks(results([bare, expressSession, ours]));
    const vsSession = checks.find((c) => c.target === 'ours: read ≥ 1.3x express-session');
    // Fastest runs: 880 / 700 = 1.26x; round by round 840 / 600 and 880 / 700.
    expect(vsSession).toMatchObject({ ok: false, measured: expect.stringContaining('1.26x') });
    expect(vsSession?.measured).toContain('rounds: 1.40x, 1.26x');
    const vsBare = checks.find((c) => c.target === 'ours: read ≥ 85% of bare');
    expect(vsBare).toMatchObject({ ok: true, measured: expect.stringContaining('88.0%') });
    expect(vsBare?.measured).toContain('rounds: 84.0%, 97.8%');
  });

  it('holds the near-cache to 0 round trips and 95 % of bare', () => {
    const cached = read(variant('cached', { strategy: 'session-id', cache: true }), [940, 930], { roundTrips: 0.2 });
    const checks = targetChecks(results([bare, expressSession, cached]));
    expect(checks.find((c) => c.target.startsWith('cached: read path 0'))?.ok).toBe(false);
    expect(checks.find((c) => c.target === 'cached: read ≥ 95% of bare')?.ok).toBe(false);
  });

  it('judges the library defaults only: a batchWrites: false row is a comparison', () => {
    const unbatched = read(variant('unbatched', { strategy: 'session-id', batchWrites: false }), [100, 100]);
    expect(targetChecks(results([bare, expressSession, unbatched]))).toEqual([]);
  });
});
