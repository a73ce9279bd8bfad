/**
 * Ratios judged round by round (bench:paired): each round's run of an app against the same
 * round's run of bare, a few seconds apart, so the host's drift over a minute cancels out of the
 * ratio; the median over the rounds is the estimate, robust to the odd disturbed run.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface PairedEstimate {
  /** The app's req/s over bare's, round by round. */
  readonly ratios: readonly number[];
  readonly medianRatio: number;
  /** The app's CPU per request minus bare's, round by round, median (µs). */
  readonly medianCpuAboveUs: number;
  /** Rounds whose ratio reaches `target` (when one is given). */
  readonly roundsMeeting?: number;
}

/** Runs of an app and of bare, index i in both being round i. */
export function pairedEstimate(
  app: { readonly rps: readonly number[]; readonly cpuUs: readonly number[] },
  bare: { readonly rps: readonly number[]; readonly cpuUs: readonly number[] },
  target?: number,
): PairedEstimate {
  if (app.rps.length !== bare.rps.length || app.cpuUs.length !== bare.cpuUs.length) throw new Error('paired runs need the same rounds');
  const ratios = app.rps.map((rps, round) => rps / (bare.rps[round] as number));
  return {
    ratios,
    medianRatio: median(ratios),
    medianCpuAboveUs: median(app.cpuUs.map((cpu, round) => cpu - (bare.cpuUs[round] as number))),
    ...(target === undefined ? {} : { roundsMeeting: ratios.filter((r) => r >= target).length }),
  };
}
