import { describe, expect, it } from '@jest/globals';
import { median, pairedEstimate } from './paired-rounds.js';

describe('paired rounds', () => {
  it('takes the median of odd and even counts, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow('median of no values');
  });

  it('compares each round with the same round of bare, not best with best', () => {
    // The host slows down in round 2 for both: the per-round ratio stays 0.9, best vs best is 0.72.
    const bare = { rps: [1000, 500, 1000], cpuUs: [100, 200, 100] };
    const app = { rps: [900, 450, 720], cpuUs: [110, 222, 130] };
    const estimate = pairedEstimate(app, bare, 0.9);
    expect(estimate.ratios).toEqual([0.9, 0.9, 0.72]);
    expect(estimate.medianRatio).toBe(0.9);
    expect(estimate.medianCpuAboveUs).toBe(22);
    expect(estimate.roundsMeeting).toBe(2);
  });

  it('refuses runs from different numbers of rounds', () => {
    expect(() => pairedEstimate({ rps: [1, 2], cpuUs: [1, 2] }, { rps: [1], cpuUs: [1] })).toThrow('same rounds');
  });
});
