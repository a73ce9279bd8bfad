import { describe, expect, it } from '@jest/globals';
import { sampleHostCpu, stealPercent } from './host-cpu.js';

describe('host CPU steal', () => {
  it('is the share of stolen ticks between two samples', () => {
    expect(stealPercent({ steal: 10, total: 1000 }, { steal: 60, total: 1200 })).toBe(25);
    expect(stealPercent({ steal: 10, total: 1000 }, { steal: 10, total: 1000 })).toBe(0);
  });

  it('reads this machine: steal within total, both counting up', () => {
    const first = sampleHostCpu();
    const second = sampleHostCpu();
    expect(first.total).toBeGreaterThan(0);
    expect(first.steal).toBeGreaterThanOrEqual(0);
    expect(first.steal).toBeLessThanOrEqual(first.total);
    expect(second.total).toBeGreaterThanOrEqual(first.total);
  });
});
