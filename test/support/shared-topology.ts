/**
 * One Sentinel set or one Cluster for a whole Jest run (the `redis-sentinel` and `redis-cluster`
 * projects in jest.config.js), started by a globalSetup and shared by every demo suite of the
 * project; each suite keeps to its own key prefix.
 *
 * The addresses reach the test files through process.env: globalSetup runs in Jest's parent process
 * before any test file starts, and both in-band runs and worker processes (forked after it) copy
 * that environment. The suite learns which topology it is on from E2E_REDIS_TOPOLOGY, set per project
 * by a setupFiles entry (test/support/jest/).
 */
import { spawn } from 'node:child_process';
import { startTopology, TOPOLOGY_KINDS, type Topology, type TopologyKind, type TopologyRedisOptions } from './redis-topology.js';

export const TOPOLOGY_VARIABLE = 'E2E_REDIS_TOPOLOGY';
const ADDRESS_VARIABLE: Record<'sentinel' | 'cluster', string> = {
  sentinel: 'E2E_SHARED_SENTINEL',
  cluster: 'E2E_SHARED_CLUSTER',
};
const RUNNING = Symbol.for('test-support.shared-topology.running');

/** The topology this test file runs its demo suites on (default: a private standalone server). */
export function suiteTopologyKind(): TopologyKind {
  const value = process.env[TOPOLOGY_VARIABLE] ?? 'standalone';
  if (!(TOPOLOGY_KINDS as readonly string[]).includes(value)) {
    throw new Error(`${TOPOLOGY_VARIABLE} must be one of ${TOPOLOGY_KINDS.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as TopologyKind;
}

/** The shared topology's `redis` option, or undefined when this run started none of that kind. */
export function sharedTopologyRedis(kind: 'sentinel' | 'cluster'): TopologyRedisOptions | undefined {
  const text = process.env[ADDRESS_VARIABLE[kind]];
  return text === undefined ? undefined : (JSON.parse(text) as TopologyRedisOptions);
}

/**
 * setupFiles of a topology project: names the topology for this test file, and fails it when the
 * project's globalSetup published none (startSuiteRedis would otherwise start one per file).
 */
export function useSharedTopology(kind: 'sentinel' | 'cluster'): void {
  process.env[TOPOLOGY_VARIABLE] = kind;
  if (process.env[ADDRESS_VARIABLE[kind]] === undefined) {
    throw new Error(`${ADDRESS_VARIABLE[kind]} is unset: the redis-${kind} project's globalSetup (test/support/jest/) did not run`);
  }
}

type Holder = typeof globalThis & { [RUNNING]?: Topology[] };

/** globalSetup: starts the topology, publishes its address, and arranges for it to die with Jest. */
export async function startSharedTopology(kind: 'sentinel' | 'cluster'): Promise<void> {
  const started = Date.now();
  const topology = await startTopology(kind);
  ((globalThis as Holder)[RUNNING] ??= []).push(topology);
  process.env[ADDRESS_VARIABLE[kind]] = JSON.stringify(topology.redis);
  const pids = [...topology.nodes, ...(topology.kind === 'sentinel' ? topology.sentinels : [])].map((node) => node.pid);
  reapWhenGone(pids);
  process.stderr.write(`\n[shared-topology] ${kind} up in ${Date.now() - started} ms (pids ${pids.join(' ')})\n`);
}

/** globalTeardown: stops every topology this run started. */
export async function stopSharedTopologies(): Promise<void> {
  const holder = globalThis as Holder;
  const running = holder[RUNNING] ?? [];
  holder[RUNNING] = [];
  await Promise.all(running.map((topology) => topology.stop()));
}

/**
 * A detached watcher that SIGKILLs the servers once Jest's process is gone. The 'exit' hook of
 * redis-server.ts covers a normal end; this covers Ctrl-C, a SIGTERM from CI and SIGKILL, after
 * which no code of ours runs in Jest. It only kills a pid that is still a redis-server (pid reuse),
 * and leaves by itself once all of them have exited.
 */
function reapWhenGone(pids: number[]): void {
  const script = `
    const { readFileSync } = require('node:fs');
    const [parent, ...pids] = process.argv.slice(1).map(Number);
    const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
    const isRedis = (pid) => { try { return readFileSync('/proc/' + pid + '/cmdline', 'utf8').includes('redis-server'); } catch { return false; } };
    const timer = setInterval(() => {
      const left = pids.filter(alive);
      if (left.length === 0) process.exit(0);
      if (alive(parent)) return;
      for (const pid of left) if (isRedis(pid)) { try { process.kill(pid, 'SIGKILL'); } catch {} }
      process.exit(0);
    }, 500);
  `;
  const watcher = spawn(process.execPath, ['-e', script, String(process.pid), ...pids.map(String)], { detached: true, stdio: 'ignore' });
  watcher.unref();
}
