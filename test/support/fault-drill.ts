/**
 * Fault-drill helpers: load the demo with a few bounded request loops while a fault is injected,
 * then measure what the clients saw (status mix, latency, the error window) and check the
 * invariants every drill shares:
 *
 * - a guarded request answers 200 or 503 (503 always with Retry-After), within the command
 *   timeout plus a margin: never a hang, a 500, or a 401 for a credential that could not be checked;
 * - `/health` answers 503 while the store is down and 200 again after;
 * - the process sees no unhandled rejection and no uncaught exception (hooks on the real process).
 *
 * Each drill's measurements are kept, and printed as one table per file (`printDrillReport`).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import { credentialHeaders, uniqueUser, type DemoApp } from './demo-app.js';
import { sleep, waitFor, type StandaloneTopology } from './redis-topology.js';

/** The library's default ioredis commandTimeout (RECOMMENDED_REDIS_OPTIONS). */
export const COMMAND_TIMEOUT_MS = 1000;
/**
 * Allowance on top of the command timeout(s) of one request: HTTP on loopback, Nest, the event
 * loop of a 2-core box that also runs Redis (and other suites). Measured worst cases are printed.
 */
export const LATENCY_MARGIN_MS = 500;
export const REQUEST_BOUND_MS = COMMAND_TIMEOUT_MS + LATENCY_MARGIN_MS;
/** A request that takes this long is a hang: it is aborted and reported. */
const HANG_MS = 8_000;

// ---------------------------------------------------------------------------------------------
// Process hooks
// ---------------------------------------------------------------------------------------------

/**
 * Installs 'unhandledRejection' and 'uncaughtException' hooks for the current file (on Jest's
 * sandboxed `process` and on the worker's real one) and fails the test during which one fired.
 */
export function failOnProcessErrors(): void {
  const seen: string[] = [];
  const record = (kind: string) => (error: unknown) => {
    const text = `${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    if (!seen.includes(text)) seen.push(text);
  };
  const onRejection = record('unhandledRejection');
  const onException = record('uncaughtException');
  const real = vm.runInThisContext('process') as NodeJS.Process;
  const targets = real === process ? [process] : [process, real];
  beforeAll(() => {
    for (const target of targets) {
      target.on('unhandledRejection', onRejection);
      target.on('uncaughtException', onException);
    }
  });
  afterEach(() => {
    expect(seen.splice(0)).toEqual([]);
  });
  afterAll(() => {
    for (const target of targets) {
      target.off('unhandledRejection', onRejection);
      target.off('uncaughtException', onException);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

export interface Sample {
  label: string;
  /** ms since the drill's time origin. */
  start: number;
  end: number;
  /** HTTP status, or 0 when the request failed at the socket level or hung (see `error`). */
  status: number;
  retryAfter: string | null;
  error?: string;
  body?: string;
}

/** One HTTP request with a credential, bounded by HANG_MS; never throws. */
export async function hit(
  demo: DemoApp,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  path: string,
  credential?: string,
  body?: unknown,
): Promise<{ status: number; retryAfter: string | null; ms: number; error?: string; body: string; setCookie: string[] }> {
  const { port } = demo.http.address() as { port: number };
  const headers: Record<string, string> = { ...credentialHeaders(demo, credential) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const t0 = Date.now();
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(HANG_MS),
    });
    const text = await res.text();
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      ms: Date.now() - t0,
      body: text.slice(0, 300),
      setCookie: res.headers.getSetCookie(),
    };
  } catch (error) {
    const name = (error as Error).name === 'TimeoutError' ? `hang (> ${HANG_MS} ms)` : (error as Error).message;
    return { status: 0, retryAfter: null, ms: Date.now() - t0, error: name, body: '', setCookie: [] };
  }
}

export interface ProbeTask {
  label: string;
  send: () => ReturnType<typeof hit>;
}

/**
 * Runs each task in its own loop (one request at a time, `pauseMs` apart) until `stop()`, at most
 * `maxRequests` per task and `maxMs` in all, recording every answer.
 */
export class Probe {
  readonly origin = Date.now();
  readonly samples: Sample[] = [];
  private stopped = false;
  private readonly loops: Array<Promise<void>>;
  private readonly marks: Array<{ name: string; at: number }> = [];

  constructor(
    tasks: ProbeTask[],
    private readonly options: { pauseMs?: number; maxRequests?: number; maxMs?: number } = {},
  ) {
    this.loops = tasks.map((task) => this.loop(task));
  }

  /** ms since the origin. */
  now(): number {
    return Date.now() - this.origin;
  }

  /** Records a named moment (fault injected, fault removed) and returns its time. */
  mark(name: string): number {
    const at = this.now();
    this.marks.push({ name, at });
    return at;
  }

  at(name: string): number {
    const mark = this.marks.find((m) => m.name === name);
    if (!mark) throw new Error(`no mark "${name}"`);
    return mark.at;
  }

  private async loop(task: ProbeTask): Promise<void> {
    const { pauseMs = 25, maxRequests = 2_000, maxMs = 60_000 } = this.options;
    for (let n = 0; n < maxRequests && !this.stopped && this.now() < maxMs; n++) {
      const start = this.now();
      const res = await task.send();
      this.samples.push({
        label: task.label,
        start,
        end: this.now(),
        status: res.status,
        retryAfter: res.retryAfter,
        ...(res.error ? { error: res.error } : {}),
        ...(res.status >= 500 || res.status === 0 ? { body: res.body } : {}),
      });
      await sleep(pauseMs);
    }
  }

  /** Waits until `label` answered `status` `times` times in a row after `since` (ms), or throws. */
  async waitFor(label: string, status: number, { since = 0, times = 3, timeoutMs = 30_000 } = {}): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const mine = this.samples.filter((s) => s.label === label && s.start >= since);
      const tail = mine.slice(-times);
      if (tail.length === times && tail.every((s) => s.status === status)) return tail[0].end;
      await sleep(20);
    }
    const seen = this.samples.filter((s) => s.label === label && s.start >= since).slice(-5).map((s) => s.status);
    throw new Error(`${label} did not answer ${status} ${times} times in a row within ${timeoutMs} ms (last: ${seen.join(', ')})`);
  }

  async stop(): Promise<Sample[]> {
    this.stopped = true;
    await Promise.all(this.loops);
    return this.samples;
  }
}

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

export interface DrillResult {
  drill: string;
  requests: number;
  statuses: Record<string, number>;
  /** Non-200 answers of the guarded (non-health) loops. */
  errors: number;
  /** From the first to the end of the last non-200 guarded answer, ms (0 when none). */
  errorWindowMs: number;
  /** From the fault's injection to the first non-200 guarded answer, ms (null when none). */
  firstErrorAfterMs: number | null;
  /** From the fault's removal (or injection, for faults that heal by themselves) to the first of 3 OKs in a row. */
  recoveryMs: number | null;
  /** Slowest guarded answer, ms. */
  maxLatencyMs: number;
  /** Slowest guarded non-200 answer, ms. */
  maxErrorLatencyMs: number;
  healthDown: boolean;
  note?: string;
}

const REPORT: DrillResult[] = [];

/** Summarises a drill's samples (`faultAt`/`healedAt` are probe times) and keeps it for the report. */
export function measure(
  drill: string,
  samples: Sample[],
  { faultAt, healedAt, recoveredAt, note }: { faultAt: number; healedAt?: number; recoveredAt?: number; note?: string },
): DrillResult {
  const guarded = samples.filter((s) => s.label !== 'health');
  const failed = guarded.filter((s) => s.status !== 200 && s.status !== 204);
  const statuses: Record<string, number> = {};
  for (const s of samples) statuses[`${s.label}:${s.status}`] = (statuses[`${s.label}:${s.status}`] ?? 0) + 1;
  const result: DrillResult = {
    drill,
    requests: samples.length,
    statuses,
    errors: failed.length,
    errorWindowMs: failed.length ? Math.max(...failed.map((s) => s.end)) - Math.min(...failed.map((s) => s.start)) : 0,
    firstErrorAfterMs: failed.length ? Math.min(...failed.map((s) => s.start)) - faultAt : null,
    recoveryMs: recoveredAt === undefined ? null : recoveredAt - (healedAt ?? faultAt),
    maxLatencyMs: Math.max(0, ...guarded.map((s) => s.end - s.start)),
    maxErrorLatencyMs: Math.max(0, ...failed.map((s) => s.end - s.start)),
    healthDown: samples.some((s) => s.label === 'health' && s.status === 503),
    ...(note ? { note } : {}),
  };
  REPORT.push(result);
  return result;
}

/**
 * The shared invariants: every guarded answer is in `allowed` (200/503 by default), every guarded
 * 503 has Retry-After, nothing hung or failed at the socket, and no answer (health included) took
 * longer than `boundMs`; /health answers only 200 or 503.
 */
export function expectSafeAnswers(
  samples: Sample[],
  { allowed = [200, 503], boundMs }: { allowed?: number[]; boundMs?: number } = {},
): void {
  const guarded = samples.filter((s) => s.label !== 'health');
  const describe = (s: Sample) => `${s.label} ${s.status} at ${s.start} ms took ${s.end - s.start} ms ${s.error ?? ''} ${s.body ?? ''}`.trim();
  expect(guarded.filter((s) => !allowed.includes(s.status)).map(describe)).toEqual([]);
  expect(guarded.filter((s) => s.status === 503 && !/^\d+$/.test(s.retryAfter ?? '')).map(describe)).toEqual([]);
  expect(guarded.filter((s) => s.end - s.start > (boundMs ?? boundFor(s.label))).map(describe)).toEqual([]);
  const health = samples.filter((s) => s.label === 'health');
  expect(health.filter((s) => ![200, 503].includes(s.status) || s.end - s.start > REQUEST_BOUND_MS).map(describe)).toEqual([]);
}

/**
 * Each Redis call is bounded by the command timeout; a request makes its calls one after the
 * other: a read (and /health) one, a write two (load + commit), a fresh login three (create,
 * index add, revocation check; README "Redis round trips per request").
 */
export function boundFor(label: string): number {
  const calls = label.startsWith('login') ? 3 : label.startsWith('write') ? 2 : 1;
  return calls * COMMAND_TIMEOUT_MS + LATENCY_MARGIN_MS;
}

/** Prints every drill measured in this file as one table (and returns it). */
export function printDrillReport(title: string): string {
  const rows = REPORT.splice(0).map((r) =>
    [
      r.drill.padEnd(44),
      String(r.requests).padStart(5),
      String(r.errors).padStart(4),
      `${r.errorWindowMs}`.padStart(6),
      `${r.firstErrorAfterMs ?? '-'}`.padStart(6),
      `${r.recoveryMs ?? '-'}`.padStart(6),
      `${r.maxLatencyMs}`.padStart(5),
      `${r.maxErrorLatencyMs}`.padStart(5),
      r.healthDown ? ' yes' : '  no',
      ` ${JSON.stringify(r.statuses)}${r.note ? ` ${r.note}` : ''}`,
    ].join(' '),
  );
  const text = [
    `[drill-report] ${title}`,
    `${'drill'.padEnd(44)}  reqs errs window first- recov  maxms errms h503 statuses`,
    ...rows,
  ].join('\n');
  if (rows.length) process.stdout.write(`\n${text}\n`);
  return text;
}

export interface DrillPlan {
  tasks: ProbeTask[];
  inject: () => Promise<void> | void;
  /** How long the fault lasts before `heal` (ms). */
  holdMs: number;
  heal?: () => Promise<void> | void;
  /** Labels that must answer 200 again after healing (default: read and write). */
  recover?: string[];
  recoveryTimeoutMs?: number;
  /** Requests before the fault (ms); 0 for faults present from the start. */
  baselineMs?: number;
  note?: string;
}

/** Runs one drill: baseline, fault, heal, recovery; returns the samples and the measurement. */
export async function runDrill(name: string, plan: DrillPlan) {
  const probe = new Probe(plan.tasks, { maxMs: 60_000 });
  await sleep(plan.baselineMs ?? 300);
  const faultAt = plan.baselineMs === 0 ? 0 : probe.mark('fault');
  await plan.inject();
  await sleep(plan.holdMs);
  const healedAt = probe.mark('heal');
  await plan.heal?.();
  let recoveredAt = 0;
  try {
    for (const label of plan.recover ?? ['read', 'write']) {
      recoveredAt = Math.max(recoveredAt, await probe.waitFor(label, 200, { since: healedAt, timeoutMs: plan.recoveryTimeoutMs ?? 20_000 }));
    }
  } finally {
    await probe.stop();
  }
  const result = measure(name, probe.samples, { faultAt, healedAt, recoveredAt, note: plan.note });
  return { samples: probe.samples, result, faultAt, healedAt };
}

/** Status recorded for a 200 that shows the request ran without its session (never allowed). */
export const ANONYMOUS_200 = 299;

/**
 * Standard probe tasks for a signed-in client whose cart is not empty (see `signedInWithCart`):
 * a read that needs the session, a write, a read on a route that also admits visitors (its 200
 * must still show the cart: a credential that could not be checked must never be served as a
 * visitor), and the health check.
 */
export function standardTasks(demo: DemoApp, credential: string): ProbeTask[] {
  let n = 0;
  return [
    { label: 'read', send: () => hit(demo, 'GET', '/me', credential) },
    { label: 'write', send: () => hit(demo, 'PUT', `/cart/probe-${n++ % 5}`, credential, { qty: 1 + (n % 9) }) },
    {
      label: 'cart',
      send: async () => {
        const res = await hit(demo, 'GET', '/cart', credential);
        return res.status === 200 && !res.body.includes('"sku"') ? { ...res, status: ANONYMOUS_200, error: 'served as a visitor (empty cart)' } : res;
      },
    },
    { label: 'health', send: () => hit(demo, 'GET', '/health') },
  ];
}

/** Logs a new user in on `demo` and puts one item in the cart; returns the credential. */
export async function signedInWithCart(demo: DemoApp, label = 'drill'): Promise<string> {
  const client = demo.client();
  await client.login(uniqueUser(label));
  const put = await client.put('/cart/seed', { qty: 1 });
  if (put.status !== 200) throw new Error(`seeding the cart answered ${put.status}`);
  return client.credential!;
}

// ---------------------------------------------------------------------------------------------
// Core standalone drills, for any strategy
// ---------------------------------------------------------------------------------------------

/** A standalone server with an append-only file in `dataDir` (fsync always), and a demo on it. */
export interface StandaloneDrillTarget {
  topology: StandaloneTopology;
  dataDir: string;
  demo: DemoApp;
}

/** SIGKILL mid-request, restart 2 s later from the AOF: 503s while down, the same credential 200 after. */
export async function drillKilledAndRestarted(target: StandaloneDrillTarget): Promise<DrillResult> {
  const { topology, demo } = target;
  const credential = await signedInWithCart(demo, 'drill');
  const { samples, result } = await runDrill(`${demo.strategy}: killed (SIGKILL) and restarted, AOF kept`, {
    tasks: standardTasks(demo, credential),
    inject: () => topology.node.kill(),
    holdMs: 2_000,
    heal: () => topology.node.restart(),
  });
  expectSafeAnswers(samples);
  expect(result.errors).toBeGreaterThan(0);
  expect(result.healthDown).toBe(true);
  expect((await hit(demo, 'GET', '/me', credential)).status).toBe(200);
  return result;
}

/** SIGSTOP 3 s, SIGCONT: every 503 within the bound, recovery, no key left without a TTL. */
export async function drillHung(target: StandaloneDrillTarget): Promise<DrillResult> {
  const { topology, demo } = target;
  const credential = await signedInWithCart(demo, 'drill');
  const { samples, result } = await runDrill(`${demo.strategy}: hung (SIGSTOP 3 s) and resumed`, {
    tasks: standardTasks(demo, credential),
    inject: () => topology.node.pause(),
    holdMs: 3_000,
    heal: () => topology.node.resume(),
  });
  expectSafeAnswers(samples);
  expect(result.errors).toBeGreaterThan(0);
  expect(result.healthDown).toBe(true);
  const readErrors = samples.filter((s) => s.label === 'read' && s.status === 503);
  expect(readErrors.length).toBeGreaterThan(0);
  expect(Math.max(...readErrors.map((s) => s.end - s.start))).toBeLessThanOrEqual(REQUEST_BOUND_MS);
  // Late replies (touches, commits) landed after SIGCONT: each must have kept its expiry.
  await sleep(300);
  const entries = await topology.allEntries();
  expect(entries.filter((e) => e.ttlMs <= 0).map((e) => e.key)).toEqual([]);
  expect((await hit(demo, 'GET', '/me', credential)).status).toBe(200);
  return result;
}

/**
 * SIGKILL, AOF deleted, restart: 503 while down, then 401 for the lost session (never a 200 for
 * it, never a 500); a new login works (the script cache is empty: EVALSHA falls back to EVAL).
 */
export async function drillRestartedEmpty(target: StandaloneDrillTarget): Promise<DrillResult> {
  const { topology, dataDir, demo } = target;
  const credential = await signedInWithCart(demo, 'drill');
  const { samples, result } = await runDrill(`${demo.strategy}: restarted empty (SIGKILL, AOF deleted)`, {
    tasks: [
      { label: 'read', send: () => hit(demo, 'GET', '/me', credential) },
      { label: 'health', send: () => hit(demo, 'GET', '/health') },
    ],
    inject: async () => {
      await topology.node.kill();
      rmSync(join(dataDir, 'appendonlydir'), { recursive: true, force: true });
    },
    holdMs: 500,
    heal: () => topology.node.restart(),
    recover: ['health'],
  });
  await waitFor('the lost session to answer 401', async () => (await hit(demo, 'GET', '/me', credential)).status === 401, 10_000);
  expectSafeAnswers(samples, { allowed: [200, 401, 503] });
  const firstRefusal = samples.find((s) => s.status === 401)?.start ?? Infinity;
  expect(samples.filter((s) => s.label !== 'health' && s.status === 200 && s.start > firstRefusal)).toEqual([]);
  expect(samples.filter((s) => s.label !== 'health' && s.status === 200 && s.start > samples.find((x) => x.status === 503)!.start)).toEqual([]);
  expect(result.healthDown).toBe(true);
  expect((await signedInWithCart(demo, 'drill')).length).toBeGreaterThan(0);
  return result;
}
