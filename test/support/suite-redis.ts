/**
 * The Redis a demo suite runs against, on the topology E2E_REDIS_TOPOLOGY names:
 * - standalone (default): a private redis-server for the file, as before;
 * - sentinel / cluster: the topology the Jest project started for the whole run (shared-topology.ts);
 *   when the run started none (e.g. E2E_REDIS_TOPOLOGY=cluster with the `redis` project), one is
 *   started for this file alone.
 *
 * Suites reach Redis only through this handle: the demo env (`env`, for demoEnv), the library's
 * `redis` option for fixture apps, and inspection that holds on every topology (keys of every
 * master, single-key commands on the master that owns the key's slot).
 */
import { Redis } from 'ioredis';
import type { DemoEnv } from './demo-app.js';
import { commandsDuring, measureRedis, type CommandCounts, type RedisActivity } from './redis-probe.js';
import { allKeysAndValues, startRedisServer, type RedisEntry } from './redis-server.js';
import { commandOn, startTopology, type Topology, type TopologyKind, type TopologyRedisOptions } from './redis-topology.js';
import { sharedTopologyRedis, suiteTopologyKind } from './shared-topology.js';

export interface SuiteRedis {
  readonly kind: TopologyKind;
  /** SessionModule's `redis` option, for fixture apps next to the demo. */
  readonly redis: TopologyRedisOptions;
  /** The demo's variables that point at this Redis (REDIS_URL, or REDIS_SENTINELS..., or REDIS_CLUSTER_NODES). */
  readonly env: DemoEnv;
  /** Ports of the nodes that serve writes now. */
  masterPorts(): Promise<number[]>;
  /** Port of the master that owns `key` (its slot, on a Cluster). */
  masterPortFor(key: string): Promise<number>;
  /** Keys (matching the SCAN pattern `match`, or all) of every master, with TTLs and contents. */
  entries(match?: string): Promise<RedisEntry[]>;
  exists(key: string): Promise<number>;
  pttl(key: string): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  /**
   * What Redis executed for `prefix` while `action` ran. On the private standalone server: every
   * command (INFO commandstats, script-internal included) and writes (dirty counter), as nothing
   * else uses it. On a shared topology other suites run meanwhile, so: the commands (MONITOR on
   * every master, script-internal included) whose arguments name a key under `prefix`, and of
   * those the ones Redis flags as writes (COMMAND INFO).
   */
  activityDuring<T>(prefix: string, action: () => Promise<T>): Promise<{ result: T; activity: RedisActivity }>;
  /** Stops what this handle started (never the shared topology). */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

export { suiteTopologyKind };

/** The Redis for one suite file; call in beforeAll and `stop()` in afterAll. */
export async function startSuiteRedis(): Promise<SuiteRedis> {
  const kind = suiteTopologyKind();
  if (kind === 'standalone') {
    const server = await startRedisServer();
    return handle({ url: server.url }, () => server.stop());
  }
  const shared = sharedTopologyRedis(kind);
  if (shared) return handle(shared, async () => {});
  const own: Topology = await startTopology(kind);
  return handle(own.redis, () => own.stop());
}

/** Runs `body` with a client of the node on `port` (never 6379). */
async function withNode<T>(port: number, body: (client: Redis) => Promise<T>): Promise<T> {
  if (!Number.isInteger(port) || port === 6379) throw new Error(`refusing port ${String(port)}: not a private test server`);
  const client = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.quit().catch(() => client.disconnect());
  }
}

function demoVariables(redis: TopologyRedisOptions): DemoEnv {
  const list = (nodes: Array<{ host: string; port: number }>) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if ('url' in redis) return { REDIS_URL: redis.url };
  if ('sentinels' in redis) return { REDIS_SENTINELS: list(redis.sentinels), REDIS_SENTINEL_NAME: redis.name };
  return { REDIS_CLUSTER_NODES: list(redis.cluster.nodes) };
}

/** First answer of `args` from any of `ports` (a node may be down; the demo suites fail none). */
async function askAny(ports: number[], args: Array<string | number>): Promise<unknown> {
  let last: unknown;
  for (const port of ports) {
    try {
      return await commandOn(port, args);
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`no node of ${ports.join(', ')} answered ${args.join(' ')}: ${(last as Error)?.message}`);
}

function handle(redis: TopologyRedisOptions, stop: () => Promise<void>): SuiteRedis {
  const kind: TopologyKind = 'url' in redis ? 'standalone' : 'sentinels' in redis ? 'sentinel' : 'cluster';
  const writeFlags = new Map<string, boolean>();

  const masterPorts = async (): Promise<number[]> => {
    if ('url' in redis) return [Number(new URL(redis.url).port)];
    if ('sentinels' in redis) {
      const addr = (await askAny(redis.sentinels.map((s) => s.port), ['SENTINEL', 'get-master-addr-by-name', redis.name])) as string[];
      return [Number(addr[1])];
    }
    const slots = (await askAny(redis.cluster.nodes.map((n) => n.port), ['CLUSTER', 'SLOTS'])) as unknown[][];
    return [...new Set(slots.map((row) => Number((row[2] as unknown[])[1])))].sort((a, b) => a - b);
  };

  const masterPortFor = async (key: string): Promise<number> => {
    if (!('cluster' in redis)) return (await masterPorts())[0];
    const seeds = redis.cluster.nodes.map((n) => n.port);
    const slot = Number(await askAny(seeds, ['CLUSTER', 'KEYSLOT', key]));
    const slots = (await askAny(seeds, ['CLUSTER', 'SLOTS'])) as unknown[][];
    const row = slots.find((r) => slot >= Number(r[0]) && slot <= Number(r[1]));
    if (!row) throw new Error(`slot ${slot} of ${key} is not served`);
    return Number((row[2] as unknown[])[1]);
  };

  const onOwner = async <T>(key: string, body: (client: Redis) => Promise<T>): Promise<T> => withNode(await masterPortFor(key), body);

  const isWrite = async (name: string): Promise<boolean> => {
    let flag = writeFlags.get(name);
    if (flag === undefined) {
      const [info] = (await askAny(await masterPorts(), ['COMMAND', 'INFO', name])) as Array<[string, number, string[]] | null>;
      flag = Boolean(info?.[2]?.includes('write'));
      writeFlags.set(name, flag);
    }
    return flag;
  };

  const activityDuring = async <T>(prefix: string, action: () => Promise<T>): Promise<{ result: T; activity: RedisActivity }> => {
    if (kind === 'standalone') return withNode((await masterPorts())[0], (client) => measureRedis(client, action));
    const { result, commands } = await commandsDuring(await masterPorts(), action);
    const ours = commands.filter((c) => c.args.some((arg) => arg.includes(prefix)));
    const counts: CommandCounts = {};
    for (const command of ours) counts[command.name] = (counts[command.name] ?? 0) + 1;
    const writes = (await Promise.all(ours.map((command) => isWrite(command.name)))).filter(Boolean).length;
    return { result, activity: { commands: counts, executed: ours.length, writes } };
  };

  return {
    kind,
    redis,
    env: demoVariables(redis),
    masterPorts,
    masterPortFor,
    entries: async (match) => {
      const out: RedisEntry[] = [];
      for (const port of await masterPorts()) out.push(...(await withNode(port, (client) => allKeysAndValues(client, match))));
      return out.sort((a, b) => a.key.localeCompare(b.key));
    },
    exists: (key) => onOwner(key, (client) => client.exists(key)),
    pttl: (key) => onOwner(key, (client) => client.pttl(key)),
    hgetall: (key) => onOwner(key, (client) => client.hgetall(key)),
    activityDuring,
    stop,
  };
}
