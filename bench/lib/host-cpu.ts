/**
 * The host's CPU time stolen by the hypervisor (the `steal` column of /proc/stat): on a shared
 * virtual machine another tenant's load slows every process here by as much as it steals, bare
 * app included. Reported beside each run so a slow run can be told from a slow app.
 */
import { readFileSync } from 'node:fs';

export interface HostCpuSample {
  readonly steal: number;
  readonly total: number;
}

export function sampleHostCpu(): HostCpuSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { steal: ticks[7] ?? 0, total: ticks.reduce((a, b) => a + b, 0) };
}

/** Percent of the machine's CPU time stolen between two samples. */
export function stealPercent(before: HostCpuSample, after: HostCpuSample): number {
  const total = after.total - before.total;
  return total > 0 ? ((after.steal - before.steal) * 100) / total : 0;
}
