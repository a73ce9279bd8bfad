/**
 * Loaded with `node --import` into a benchmark app by bench/profile.ts: the first SIGWINCH starts
 * V8's sampling CPU profiler, the second writes the profile to PROFILE_OUT and exits. A signal,
 * so the warm-up stays out of the profile; SIGWINCH, because Nest's enableShutdownHooks() takes
 * SIGUSR2 and SIGHUP.
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

/** Microseconds between samples: V8's default (1 ms) leaves too few per request to rank functions. */
const SAMPLING_INTERVAL_US = 100;

const session = new Session();
session.connect();
let profiling = false;

process.on('SIGWINCH', () => {
  void toggle().catch((error: unknown) => {
    process.stderr.write(`profiler: ${String(error)}\n`);
    process.exit(1);
  });
});

async function toggle(): Promise<void> {
  if (!profiling) {
    profiling = true;
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
    await session.post('Profiler.start');
    process.stdout.write('PROFILING\n');
    return;
  }
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(process.env.PROFILE_OUT as string, JSON.stringify(profile));
  process.exit(0);
}
