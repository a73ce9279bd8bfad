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

/**
 * How fast this host is, in two figures that do not depend on the code under test, so runs on
 * different days (or machines) can be compared: a fixed JavaScript loop (user-space speed) and
 * loopback TCP round trips between two sockets of this process (the kernel's network path, which
 * every benchmarked request crosses several times).
 */
export interface HostSpeed {
  /** Milliseconds for 100 million iterations of a small integer loop (best of 3). */
  readonly loopMs: number;
  /** Microseconds per 64-byte loopback TCP round trip (best of 3 series of 2,000 in a row). */
  readonly loopbackRoundTripUs: number;
}

export async function measureHostSpeed(): Promise<HostSpeed> {
  const loopback = [await timeLoopback(2_000), await timeLoopback(2_000), await timeLoopback(2_000)];
  return { loopMs: Math.min(timeLoop(), timeLoop(), timeLoop()), loopbackRoundTripUs: Math.min(...loopback) };
}

function timeLoop(): number {
  const started = process.hrtime.bigint();
  let sum = 0;
  for (let i = 0; i < 100_000_000; i++) sum = (sum + (i % 7)) | 0;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  // Kept observable so the loop is not optimised away.
  return sum === -1 ? 0 : elapsed;
}

async function timeLoopback(roundTrips: number): Promise<number> {
  const { createServer, connect } = await import('node:net');
  const server = createServer((socket) => socket.on('data', (chunk) => socket.write(chunk)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = connect({ port, host: '127.0.0.1', noDelay: true });
  try {
    await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
    const payload = Buffer.alloc(64, 1);
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      let left = roundTrips;
      let received = 0;
      client.on('data', (chunk) => {
        received += chunk.length;
        // Echoes may arrive split or merged: one round trip is one full payload back.
        while (received >= payload.length) {
          received -= payload.length;
          if (--left === 0) return resolve();
          client.write(payload);
        }
      });
      client.write(payload);
    });
    return Number(process.hrtime.bigint() - started) / 1e3 / roundTrips;
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
