/** Starts one benchmark app (bench/apps/main.ts, transpiled) in its own Node process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'apps', 'main.js');
const START_TIMEOUT_MS = 20_000;
/** Under valgrind, Nest boots about 20 times slower. */
const WRAPPED_START_TIMEOUT_MS = 120_000;
/** USER_HZ: /proc/<pid>/stat counts CPU time in clock ticks of 1/100 s on Linux. */
const CLOCK_TICKS = 100;

export interface AppProcess {
  readonly pid: number;
  readonly url: string;
  /** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat. */
  cpuSeconds(): number;
  /** Sends `signal`; resolves once the app prints `reply` (fails if it exits first), or at its exit if `reply` is null. */
  signal(signal: NodeJS.Signals, reply: string | null): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `nodeArgs` go before the app's script (bench/profile.ts loads its profiler hook with them);
 * `wrapper` runs Node under another program (bench/instructions.ts: valgrind). The process's pid
 * is the wrapper's, which for valgrind is the program's own. `cwd`: where files the process writes
 * on its own go (V8's log with `--perf-basic-prof`).
 */
export async function startApp(env: Record<string, string>, nodeArgs: readonly string[] = [], wrapper: readonly string[] = [], cwd?: string): Promise<AppProcess> {
  const [command = process.execPath, ...wrapperArgs] = wrapper;
  const commandArgs = [...wrapperArgs, ...(wrapper.length > 0 ? [process.execPath] : []), ...nodeArgs, MAIN];
  const startTimeoutMs = wrapper.length > 0 ? WRAPPED_START_TIMEOUT_MS : START_TIMEOUT_MS;
  const child: ChildProcess = spawn(command, commandArgs, {
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`app did not start within ${startTimeoutMs} ms:\n${output}`)), startTimeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /READY (\d+)/.exec(chunk.toString());
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`app exited with ${code} before it was ready:\n${output}`));
    });
  });
  const pid = child.pid as number;
  return {
    pid,
    url: `http://127.0.0.1:${port}`,
    cpuSeconds: () => processCpuSeconds(pid),
    signal: (signal, reply) => {
      const answered =
        reply === null
          ? exited
          : Promise.race([
              new Promise<void>((resolve) => {
                const listener = (chunk: Buffer) => {
                  if (!chunk.toString().includes(reply)) return;
                  child.stdout?.off('data', listener);
                  resolve();
                };
                child.stdout?.on('data', listener);
              }),
              exited.then(() => {
                throw new Error(`app exited before answering ${signal}:\n${output}`);
              }),
            ]);
      child.kill(signal);
      return answered;
    },
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which is in parentheses and may contain spaces).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS;
}
