/** The shapes the benchmark collects and reports. */
import type { HostSpeed } from './host-cpu.js';

export type Adapter = 'express' | 'fastify';
export type Stack = 'bare' | 'nest-floor' | 'ours' | 'express-session' | 'fastify-session';
export type PathName = 'GET /me' | 'PUT /cart/:sku';

export interface Variant {
  id: string;
  label: string;
  adapter: Adapter;
  stack: Stack;
  strategy?: 'session-id' | 'jwt' | 'hashed';
  cache?: boolean;
  /** The library's batchWrites option turned off (one socket write per command): a comparison row. */
  batchWrites?: false;
  /**
   * A commit mode named explicitly. Unset: the library's default, `'auto'`, which is `'on-send'` in
   * the benchmark's apps (they have no gateways or GraphQL resolvers).
   */
  commit?: 'interceptor' | 'on-send';
  /** Run only when BENCH_ONLY names it: a comparison row that the whole run has no time for. */
  onRequest?: true;
  topology: 'standalone' | 'cluster';
}

export interface PathResult {
  variant: Variant;
  path: PathName;
  requests: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  failed: number;
  /** Commands sent over the wire per request (MONITOR, sequential probe requests). */
  roundTrips: number;
  roundTripCommands: string[];
  /** Commands Redis executed per request, script internals included (commandstats, timed run). */
  commands: number;
  /** Bytes the app sent to / received from Redis per request (INFO stats). */
  bytesIn: number;
  bytesOut: number;
  /** Redis execution time per request of the commands sent (commandstats usec). */
  redisUsec: number;
  /** redis-server process CPU per request (INFO cpu: user + sys), networking included. */
  redisCpuUs: number;
  /** App process CPU per request (/proc/<pid>/stat). */
  appCpuUs: number;
  /** Percent of the host's CPU time the hypervisor stole during the run (see host-cpu.ts). */
  stealPercent: number;
  /** req/s of each of the app's runs of this path, in round order (the figures above are the fastest run's). */
  roundRps: number[];
}

export interface LargeSessionPoint {
  variant: Variant;
  keys: number;
  sessionBytes: number;
  rps: number;
  p50: number;
  bytesIn: number;
  bytesOut: number;
  appCpuUs: number;
  failed: number;
}

export interface MemoryResult {
  variant: Variant;
  /** MEMORY USAGE of the session key, average over the sessions. */
  sessionKeyBytes: number;
  /** The session's share of other keys (our per-user index). */
  indexBytes: number;
  dataKeys: number;
  sessions: number;
}

export interface BenchConfig {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  sessions: number;
  quick: boolean;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  host: { cpus: number; node: string; redis: string; loadAverage: number[]; speed: HostSpeed };
  config: BenchConfig;
  paths: PathResult[];
  large: LargeSessionPoint[];
  memory: MemoryResult[];
  notes: string[];
}
