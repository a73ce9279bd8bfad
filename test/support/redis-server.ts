/**
 * Test helper: a private, throw-away `redis-server` per test suite.
 *
 * Tests never touch a shared Redis (and never 6379, where a developer's or CI's own server may
 * live): each suite gets its own process on a free loopback port, with persistence off, so it can
 * be killed, paused and restarted to exercise failure paths without affecting anything else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { Redis, type RedisOptions } from 'ioredis';
import { META } from '../../libs/session/src/store/redis-schema.js';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 5_000;
const READY_POLL_MS = 50;
const STOP_GRACE_MS = 2_000;
const PORT_ATTEMPTS = 5;
const NOT_ON_PATH =
  'redis-server is not on PATH: install Redis 7 (apt-get install -y redis-server) to run the storage tests';

export interface RedisServerHandle {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Pid of the current process; changes after `restart()`. */
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 2 s; resolves once the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL (a crash, as far as clients can tell); resolves once the process has exited. */
  kill9(): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing answers (a hung server). */
  pause(): void;
  /** SIGCONT: undo `pause()`. */
  resume(): void;
  /** Start a new, empty server on the same port (stopping the current one first if it still runs). */
  restart(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** Extra redis-server arguments, e.g. `['--maxmemory', '10mb']`. */
  args?: string[];
  /** Fixed port; by default a free one is picked (never 6379). */
  port?: number;
  /**
   * A config file passed as redis-server's first argument (the command-line options still apply
   * on top). Sentinel needs one it can rewrite: `{ configFile, args: ['--sentinel'] }`.
   */
  configFile?: string;
}

// ---------------------------------------------------------------------------------------------
// Orphan protection.
//
// Jest gives each test file a *copy* of `process` whose 'exit' event never fires, so a hook on it
// would be dead code. `vm.runInThisContext` evaluates in Node's main context, which yields the
// real worker process. The set of live children is stored on that real process under a global
// symbol so that all test files of one worker share a single 'exit' listener (one per file would
// trip MaxListenersExceededWarning).
// ---------------------------------------------------------------------------------------------
interface Registry {
  children: Set<ChildProcess>;
  dirs: Set<string>;
}
const REGISTRY_KEY = Symbol.for('test-support.redis-server.registry');

function registry(): Registry {
  const candidate: unknown = vm.runInThisContext('typeof process === "object" ? process : undefined');
  // (`instanceof Object` would be false here: the value comes from another realm.)
  const real = typeof candidate === 'object' && candidate !== null && 'once' in candidate ? candidate : process;
  const host = real as NodeJS.Process & Record<symbol, Registry | undefined>;
  let reg = host[REGISTRY_KEY];
  if (!reg) {
    const created: Registry = { children: new Set(), dirs: new Set() };
    reg = created;
    host[REGISTRY_KEY] = created;
    // Must be synchronous: nothing asynchronous runs once 'exit' has been emitted.
    host.once('exit', () => {
      for (const child of created.children) {
        try {
          child.kill('SIGKILL');
        } catch {
          // Already gone.
        }
      }
      for (const dir of created.dirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  return reg;
}

/**
 * Registers a directory (e.g. a topology's shared config dir) to be removed when the worker exits,
 * like the servers' own dirs; returns a function that removes it now.
 */
export function trackTempDir(dir: string): () => void {
  const reg = registry();
  reg.dirs.add(dir);
  return () => {
    rmSync(dir, { recursive: true, force: true });
    reg.dirs.delete(dir);
  };
}

// ---------------------------------------------------------------------------------------------

/** Asks the kernel for a free port. Another process may grab it before redis does: callers retry. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 && port !== 6379 ? resolve(port) : reject(new Error(`unusable port ${port}`))));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The redis-server process died before it answered; `addressInUse` means "try another port". */
class EarlyExitError extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
  }
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

/** Spawns redis-server on `port` and resolves once it (and not some other process) answers PING. */
async function launch(port: number, extraArgs: readonly string[], configFile?: string): Promise<Running> {
  const reg = registry();
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  reg.dirs.add(dir);
  const args = [
    ...(configFile === undefined ? [] : [configFile]),
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    '--protected-mode', 'yes',
    '--dir', dir,
    ...extraArgs,
  ];
  // `env: process.env` makes the lookup use the test's own PATH (Jest's sandboxed copy).
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });

  // Kept (bounded) so a startup failure can say what redis printed.
  let captured = '';
  const capture = (chunk: Buffer): void => {
    captured = (captured + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  const output = (): string => captured.trim();

  // 'close' rather than 'exit': it comes after stdout/stderr are drained, so the captured
  // output is complete (e.g. it holds the "Address already in use" line) when we inspect it.
  let hasExited = false;
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => {
      hasExited = true;
      reg.children.delete(child);
      rmSync(dir, { recursive: true, force: true });
      reg.dirs.delete(dir);
      resolve();
    });
  });

  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) => {
      rmSync(dir, { recursive: true, force: true });
      reg.dirs.delete(dir);
      reject(err.code === 'ENOENT' ? new Error(NOT_ON_PATH) : err);
    });
  });
  reg.children.add(child);
  // A server a test forgot to stop must not keep Jest alive; the 'exit' hook above reaps it.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();

  const running: Running = { child, output, exited };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (hasExited) {
      throw new EarlyExitError(
        `redis-server on port ${port} exited before answering:\n${output()}`,
        /Address already in use/i.test(captured),
      );
    }
    const answeringPid = await probe(port);
    // Checking the pid matters: if our bind lost a race, PING may reach someone else's server.
    if (answeringPid === child.pid) return running;
    await sleep(READY_POLL_MS);
  }
  child.kill('SIGKILL');
  await exited;
  throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms:\n${output()}`);
}

/** One PING attempt; returns the pid of the answering server, or undefined if nothing answered. */
async function probe(port: number): Promise<number | undefined> {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null, // the caller's loop does the retrying
    connectTimeout: 1_000,
  });
  client.on('error', () => {}); // failures are expected while redis boots
  try {
    await client.connect();
    if ((await client.ping()) !== 'PONG') return undefined;
    const pid = /^process_id:(\d+)/m.exec(await client.info('server'))?.[1];
    return pid === undefined ? undefined : Number(pid);
  } catch {
    return undefined;
  } finally {
    // Wait until the probe connection is really closed: ioredis' disconnect() arms a 2 s timer
    // that only the socket's 'close' clears, so calling it on a dead connection, or leaving the
    // close pending when a test SIGSTOPs the server right away, would keep Jest alive after the
    // run ("did not exit one second after..."). It also leaves the server with no stray client.
    if (client.status !== 'end') {
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      client.disconnect();
      await ended;
    }
  }
}

class RedisServer implements RedisServerHandle {
  readonly host = HOST;
  readonly url: string;

  constructor(
    readonly port: number,
    private readonly args: readonly string[],
    private running: Running,
    private readonly configFile?: string,
  ) {
    this.url = `redis://${HOST}:${port}`;
  }

  get pid(): number {
    return this.running.child.pid ?? -1;
  }

  private get alive(): boolean {
    const { child } = this.running;
    return child.exitCode === null && child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const { child, exited } = this.running;
    child.kill('SIGTERM');
    // A paused (SIGSTOPped) process only acts on SIGTERM once continued.
    child.kill('SIGCONT');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.running.child.kill('SIGKILL');
    await this.running.exited;
  }

  pause(): void {
    this.running.child.kill('SIGSTOP');
  }

  resume(): void {
    this.running.child.kill('SIGCONT');
  }

  async restart(): Promise<void> {
    await this.stop();
    this.running = await launch(this.port, this.args, this.configFile);
  }
}

/** Starts a private redis-server on a free loopback port and waits until it answers PING. */
export async function startRedisServer(opts: StartRedisServerOptions = {}): Promise<RedisServerHandle> {
  const args = [...(opts.args ?? [])];
  const { configFile } = opts;
  if (opts.port === 6379) throw new Error('refusing port 6379: it may belong to a real Redis');
  if (opts.port !== undefined) return new RedisServer(opts.port, args, await launch(opts.port, args, configFile), configFile);
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      return new RedisServer(port, args, await launch(port, args, configFile), configFile);
    } catch (err) {
      // Only a lost race for the port is worth another try; anything else would fail again.
      if (!(err instanceof EarlyExitError && err.addressInUse)) throw err;
      lastError = err;
    }
  }
  throw new Error(`redis-server could not bind a free port after ${PORT_ATTEMPTS} attempts`, { cause: lastError });
}

/**
 * A connected ioredis client for assertions; the caller must `disconnect()` or `quit()` it.
 * Disconnect it while the server is still up if you can: ioredis' disconnect() on a connection
 * that is already gone (after kill9/stop) leaves a 2 s timer behind, which delays Jest's exit.
 */
export async function redisClientFor(handle: RedisServerHandle, options: RedisOptions = {}): Promise<Redis> {
  // ioredis falls back to 6379 when no port is given: never let a test reach a real Redis there.
  if (!Number.isInteger(handle.port) || handle.port === 6379) {
    throw new Error(`refusing to connect to port ${String(handle.port)}: not a private test server`);
  }
  const client = new Redis({ host: handle.host, port: handle.port, ...options, lazyConnect: true });
  await client.connect();
  return client;
}

export interface RedisEntry {
  key: string;
  type: string;
  /** PTTL: milliseconds left, or -1 when the key has no expiry. */
  ttlMs: number;
  /** Full content as text, space-separated, so a test can search it for a leaked secret. */
  dump: string;
}

/** Flattens any reply shape (arrays, RESP3 maps/pairs, numbers) into strings. */
function flatten(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(flatten);
  if (value instanceof Map) return [...value.entries()].flatMap(flatten);
  if (Buffer.isBuffer(value)) return [value.toString('utf8')];
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(flatten);
  return value === null || value === undefined ? [] : [String(value)];
}

async function render(client: Redis, key: string, type: string): Promise<string | null> {
  switch (type) {
    case 'string':
      return client.get(key);
    case 'hash':
      return flatten(await client.hgetall(key)).join(' ');
    case 'zset':
      return flatten(await client.zrange(key, 0, '-1', 'WITHSCORES')).join(' ');
    case 'set':
      return flatten(await client.smembers(key)).join(' ');
    case 'list':
      return flatten(await client.lrange(key, 0, -1)).join(' ');
    case 'stream':
      return flatten(await client.xrange(key, '-', '+')).join(' ');
    default:
      return `<${type}: not rendered>`;
  }
}

/**
 * Every key in the current database (or those matching the SCAN pattern `match`) with its type,
 * PTTL and full content (SCAN: tests only).
 */
export async function allKeysAndValues(client: Redis, match?: string): Promise<RedisEntry[]> {
  const keys = new Set<string>(); // SCAN may return a key more than once
  let cursor = '0';
  do {
    const [next, batch] = match === undefined ? await client.scan(cursor, 'COUNT', 1000) : await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    for (const key of batch) keys.add(key);
    cursor = next;
  } while (cursor !== '0');

  const entries: RedisEntry[] = [];
  for (const key of [...keys].sort()) {
    const type = await client.type(key);
    if (type === 'none') continue; // expired or deleted since the SCAN
    const ttlMs = await client.pttl(key);
    const dump = await render(client, key, type);
    if (dump !== null) entries.push({ key, type, ttlMs, dump });
  }
  return entries;
}

/**
 * Whether a session key holds a session: not absent, and not only the tombstone a delete leaves
 * for a minute (its `m:g` field, see redis-schema.ts). Anything with `call` will do: a client, a
 * Cluster, one node of a topology.
 */
export async function holdsSession(client: { call(command: string, ...args: string[]): Promise<unknown> }, key: string): Promise<boolean> {
  const fields = (await client.call('HKEYS', key)) as string[];
  return fields.some((field) => field !== META.gone);
}
