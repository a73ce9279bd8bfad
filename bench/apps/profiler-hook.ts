/**
 * Loaded with `node --import` into a benchmark app by bench/profile.ts and bench/allocations.ts:
 * the first SIGWINCH starts one of V8's sampling profilers (PROFILE_KIND: `cpu`, the default, or
 * `heap`), the second writes its profile to PROFILE_OUT and exits. A signal, so the warm-up stays
 * out of the profile; SIGWINCH, because Nest's enableShutdownHooks() takes SIGUSR2 and SIGHUP.
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

/** Microseconds between samples: V8's default (1 ms) leaves too few per request to rank functions. */
const CPU_SAMPLING_INTERVAL_US = 100;
/**
 * Bytes between allocation samples (V8's default: 32 KB). A GET /me allocates a few kilobytes, so
 * the default would leave most requests unsampled; at 128 bytes a 5-second run still samples
 * hundreds of thousands of allocations.
 */
const HEAP_SAMPLING_INTERVAL_BYTES = 128;

const session = new Session();
session.connect();
const heap = process.env.PROFILE_KIND === 'heap';
let profiling = false;

process.on('SIGWINCH', () => {
  void toggle().catch((error: unknown) => {
    process.stderr.write(`profiler: ${String(error)}\n`);
    process.exit(1);
  });
});

async function start(): Promise<void> {
  if (heap) {
    await session.post('HeapProfiler.enable');
    // Objects the collector has already freed are what a request's garbage is: keep them counted.
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: HEAP_SAMPLING_INTERVAL_BYTES,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: CPU_SAMPLING_INTERVAL_US });
  await session.post('Profiler.start');
}

async function stop(): Promise<unknown> {
  if (heap) return (await session.post('HeapProfiler.stopSampling')).profile;
  return (await session.post('Profiler.stop')).profile;
}

async function toggle(): Promise<void> {
  if (!profiling) {
    profiling = true;
    await start();
    process.stdout.write('PROFILING\n');
    return;
  }
  writeFileSync(process.env.PROFILE_OUT as string, JSON.stringify(await stop()));
  process.exit(0);
}
