/**
 * Several variants of one app, all up at once, driven in turns: round 1 in list order, round 2
 * reversed, and so on, so a disturbed stretch of this shared machine spoils one run of a few
 * variants rather than every run of one. For the small benchmarks that compare a few Nest set-ups
 * on GET /me only (bench:floor, bench:paired).
 */
import { startApp, type AppProcess } from './app-process.js';
import { sampleHostCpu, stealPercent } from './host-cpu.js';
import { runLoad, type Credential } from './load.js';

export interface AppVariant {
  readonly name: string;
  readonly env: Record<string, string>;
  /** Signs the sessions its requests present in (default: none, for apps without sessions). */
  readonly signIn?: (url: string) => Promise<Credential[]>;
}

export interface VariantRuns {
  readonly variant: AppVariant;
  readonly rps: number[];
  readonly cpuUs: number[];
  /** Host CPU stolen by the hypervisor during each run, percent. */
  readonly steal: number[];
}

export interface AlternatingPlan {
  readonly rounds: number;
  readonly warmupSeconds: number;
  /** A longer warm-up before an app's first run (default: warmupSeconds), for the JIT. */
  readonly firstWarmupSeconds?: number;
  readonly seconds: number;
  readonly connections: number;
}

/** The order of a round: list order in even rounds, reversed in odd ones. */
export const turnOrder = <T>(items: readonly T[], round: number): readonly T[] => (round % 2 === 0 ? items : [...items].reverse());

export async function runAlternating(variants: readonly AppVariant[], plan: AlternatingPlan): Promise<VariantRuns[]> {
  const started: Array<{ runs: VariantRuns; app: AppProcess; credentials: Credential[] }> = [];
  try {
    for (const variant of variants) {
      const entry = { runs: { variant, rps: [], cpuUs: [], steal: [] }, app: await startApp(variant.env), credentials: [{}] };
      // Listed before signing in, so that a failed sign-in still stops the app (finally, below).
      started.push(entry);
      if (variant.signIn) entry.credentials = await variant.signIn(entry.app.url);
    }
    for (let round = 0; round < plan.rounds; round++) {
      for (const { runs, app, credentials } of turnOrder(started, round)) {
        const options = { url: app.url, connections: plan.connections, credentials, path: 'read' as const };
        await runLoad({ ...options, seconds: round === 0 ? (plan.firstWarmupSeconds ?? plan.warmupSeconds) : plan.warmupSeconds });
        const before = app.cpuSeconds();
        const host = sampleHostCpu();
        const result = await runLoad({ ...options, seconds: plan.seconds });
        const steal = stealPercent(host, sampleHostCpu());
        const cpuUs = ((app.cpuSeconds() - before) * 1e6) / result.requests;
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${runs.variant.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
        runs.rps.push(result.rps);
        runs.cpuUs.push(cpuUs);
        runs.steal.push(steal);
        process.stdout.write(`${runs.variant.name}: ${Math.round(result.rps)} req/s, ${cpuUs.toFixed(0)} µs app CPU/req, ${steal.toFixed(0)} % stolen\n`);
      }
    }
    return started.map(({ runs }) => runs);
  } finally {
    await Promise.all(started.map(({ app }) => app.stop()));
  }
}

export const listed = (values: readonly number[]): string =>
  values.map((v) => v.toLocaleString('en-US', { maximumFractionDigits: 0 })).join(', ');

export const best = (values: readonly number[]): number => Math.min(...values);
