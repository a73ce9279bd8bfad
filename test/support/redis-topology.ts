/**
 * Test helper: the three Redis topologies the library supports, spawned on free loopback ports.
 *
 * - standalone: one `redis-server` (see redis-server.ts);
 * - sentinel:   1 master, 1 replica, 3 sentinels (`down-after-milliseconds` 1000, `failover-timeout` 2000);
 * - cluster:    3 masters with 1 replica each (`redis-cli --cluster create`, `cluster-node-timeout` 1000).
 *
 * Every process is started through `startRedisServer`, so it is known by pid and SIGKILLed when the
 * Jest worker exits, even after a failed test. Ports come from the kernel (a port an orphan still
 * holds is never handed out); Cluster nodes also need port + 10000 (the bus) free, so they are
 * picked from 10000-22767 (buses 20000-32767), below the kernel's ephemeral range.
 *
 * Each topology exposes what SessionModule's `redis` option needs (`redis`) and controls for the
 * fault drills: kill/pause/resume/restart a node, fail over, find the master of a key.
 */
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { startRedisServer, trackTempDir, type RedisEntry, allKeysAndValues, type RedisServerHandle } from './redis-server.js';

export type TopologyKind = 'standalone' | 'sentinel' | 'cluster';
export const TOPOLOGY_KINDS: readonly TopologyKind[] = ['standalone', 'sentinel', 'cluster'];

const HOST = '127.0.0.1';
const MASTER_NAME = 'mymaster';
export const SENTINEL_DOWN_AFTER_MS = 1000;
export const SENTINEL_FAILOVER_TIMEOUT_MS = 2000;
export const CLUSTER_NODE_TIMEOUT_MS = 1000;
const POLL_MS = 50;

/** What `SessionModule.forRoot({ redis })` takes for each topology. */
export type TopologyRedisOptions =
  | { url: string }
  | { sentinels: Array<{ host: string; port: number }>; name: string }
  | { cluster: { nodes: Array<{ host: string; port: number }> } };

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined/false, or throws with `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await sleep(POLL_MS);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/** Runs one command on a short-lived connection (so a killed node leaves no client behind). */
export async function commandOn(
  port: number,
  args: Array<string | number>,
  timeoutMs = 2_000,
  password?: string,
): Promise<unknown> {
  if (!Number.isInteger(port) || port === 6379) throw new Error(`refusing port ${String(port)}: not a private test server`);
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    password,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    if (client.status !== 'end') {
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      client.disconnect();
      await ended;
    }
  }
}

/** `INFO <section>` of a node as a field map. */
export async function infoOf(port: number, section: string): Promise<Record<string, string>> {
  const text = String(await commandOn(port, ['INFO', section]));
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((line) => line.includes(':') && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
  );
}

function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, env: process.env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** A port p with p and p + 10000 (the Cluster bus) free at this moment. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = randomInt(10_000, 22_768);
    if (taken.has(port) || port === 6379 || port + 10_000 === 6379) continue;
    if ((await canBind(port)) && (await canBind(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a Cluster node');
}

// ---------------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------------

/** One redis-server (data node or sentinel) of a topology; its process changes on restart. */
export class RedisNode {
  readonly host = HOST;
  private killed = false;

  constructor(
    readonly name: string,
    private server: RedisServerHandle,
    private launch: (port: number) => Promise<RedisServerHandle>,
  ) {}

  get port(): number {
    return this.server.port;
  }
  /** Pid of the current process (changes on restart). */
  get pid(): number {
    return this.server.pid;
  }
  /** False once killed or stopped (until restarted); a paused node is alive. */
  get alive(): boolean {
    if (this.killed) return false;
    try {
      process.kill(this.server.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILL: a crash. */
  async kill(): Promise<void> {
    this.killed = true;
    await this.server.kill9();
  }
  /** SIGTERM (SIGKILL after 2 s). */
  async stop(): Promise<void> {
    this.killed = true;
    await this.server.stop();
  }
  /** SIGSTOP: hung, sockets stay open. */
  pause(): void {
    this.server.pause();
  }
  /** SIGCONT. */
  resume(): void {
    this.server.resume();
  }
  /**
   * Starts the node again on the same port (stopping it first if needed); it rejoins its topology.
   * `launch` replaces how the node is started from now on (e.g. as a replica of a new master).
   */
  async restart(launch = this.launch): Promise<void> {
    await this.server.stop();
    this.launch = launch;
    this.server = await launch(this.port);
    this.killed = false;
  }
  /** One command on a short-lived connection. */
  call(...args: Array<string | number>): Promise<unknown> {
    return commandOn(this.port, args);
  }
  info(section: string): Promise<Record<string, string>> {
    return infoOf(this.port, section);
  }
  /** A connected client for this node; the caller closes it (quit while the node is up). */
  async client(options: RedisOptions = {}): Promise<Redis> {
    if (this.port === 6379) throw new Error('refusing port 6379: it may belong to a real Redis');
    const client = new Redis({ host: HOST, port: this.port, lazyConnect: true, ...options });
    client.on('error', () => {});
    await client.connect();
    return client;
  }
}

// ---------------------------------------------------------------------------------------------
// Topologies
// ---------------------------------------------------------------------------------------------

interface TopologyBase {
  readonly kind: TopologyKind;
  /** The `redis` option for SessionModule / createRedisConnection. */
  readonly redis: TopologyRedisOptions;
  /** The data nodes (masters and replicas; not the sentinels). */
  readonly nodes: readonly RedisNode[];
  /** The node that currently serves writes for `key`. */
  masterFor(key: string): Promise<RedisNode>;
  /** Every key of every current master, with TTLs (SCAN: tests only). */
  allEntries(): Promise<RedisEntry[]>;
  /** Waits until every node is up and in its role (replicas in sync, sentinels agree, cluster ok). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every process of the topology. */
  stop(): Promise<void>;
}

export interface StandaloneTopology extends TopologyBase {
  readonly kind: 'standalone';
  readonly redis: { url: string };
  readonly node: RedisNode;
}

export interface SentinelTopology extends TopologyBase {
  readonly kind: 'sentinel';
  readonly redis: { sentinels: Array<{ host: string; port: number }>; name: string };
  readonly sentinels: readonly RedisNode[];
  readonly masterName: string;
  /** The node the sentinels name as master. */
  master(): Promise<RedisNode>;
  replica(): Promise<RedisNode>;
  /** `SENTINEL FAILOVER` and waits until the set is healthy with the other node as master. */
  failover(): Promise<void>;
  /** Restarts a (killed) data node as a replica of the current master, empty. */
  restartAsReplica(node: RedisNode): Promise<void>;
}

export interface ClusterTopology extends TopologyBase {
  readonly kind: 'cluster';
  readonly redis: { cluster: { nodes: Array<{ host: string; port: number }> } };
  masters(): Promise<RedisNode[]>;
  replicaOf(master: RedisNode): Promise<RedisNode>;
  nodeId(node: RedisNode): Promise<string>;
  slotOf(key: string): Promise<number>;
  /** The slots a master serves, as [start, end] ranges in ascending order. */
  slotsOf(master: RedisNode): Promise<Array<[number, number]>>;
  /** `redis-cli --cluster reshard`: moves `slots` slots (the source's lowest) from one master to another. */
  reshard(from: RedisNode, to: RedisNode, slots: number): Promise<void>;
}

export type Topology = StandaloneTopology | SentinelTopology | ClusterTopology;

export function startTopology(kind: 'standalone'): Promise<StandaloneTopology>;
export function startTopology(kind: 'sentinel'): Promise<SentinelTopology>;
export function startTopology(kind: 'cluster'): Promise<ClusterTopology>;
export function startTopology(kind: TopologyKind): Promise<Topology>;
export function startTopology(kind: TopologyKind): Promise<Topology> {
  switch (kind) {
    case 'standalone':
      return startStandalone();
    case 'sentinel':
      return startSentinel();
    case 'cluster':
      return startCluster();
  }
}

async function stopAll(nodes: readonly RedisNode[]): Promise<void> {
  // Resume first: a SIGSTOPped process cannot act on SIGTERM (stop() also sends SIGCONT).
  await Promise.all(nodes.map((node) => node.stop()));
}

/** Keys and TTLs of the given nodes, merged. */
async function entriesOf(nodes: readonly RedisNode[]): Promise<RedisEntry[]> {
  const out: RedisEntry[] = [];
  for (const node of nodes) {
    const client = await node.client({ maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      out.push(...(await allKeysAndValues(client)));
    } finally {
      await client.quit();
    }
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

// --- standalone ------------------------------------------------------------------------------

export async function startStandalone(args: string[] = []): Promise<StandaloneTopology> {
  const server = await startRedisServer({ args });
  const node = new RedisNode('standalone', server, (port) => startRedisServer({ port, args }));
  return {
    kind: 'standalone',
    node,
    nodes: [node],
    redis: { url: `redis://${HOST}:${node.port}` },
    masterFor: async () => node,
    allEntries: () => entriesOf([node]),
    waitHealthy: async (timeoutMs = 10_000) => {
      await waitFor('standalone PING', async () => (await node.call('PING')) === 'PONG', timeoutMs);
    },
    stop: () => stopAll([node]),
  };
}

// --- sentinel --------------------------------------------------------------------------------

const replicationArgs = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];

export async function startSentinel(): Promise<SentinelTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-sentinel-'));
  const removeDir = trackTempDir(dir);
  const dataLaunch = (replicaOf?: number) => (port: number) =>
    startRedisServer({
      port,
      args: [...replicationArgs, ...(replicaOf === undefined ? [] : ['--replicaof', HOST, String(replicaOf)])],
    });
  const first = await startRedisServer({ args: replicationArgs });
  const data: RedisNode[] = [new RedisNode('data-1', first, dataLaunch())];
  const second = await startRedisServer({ args: [...replicationArgs, '--replicaof', HOST, String(first.port)] });
  data.push(new RedisNode('data-2', second, dataLaunch(first.port)));
  // Sentinels discover replicas from the master's INFO: start them once the replica is linked.
  await waitFor('replica link up', async () => (await data[1].info('replication')).master_link_status === 'up');

  const sentinels: RedisNode[] = [];
  for (let i = 1; i <= 3; i++) {
    const configFile = join(dir, `sentinel-${i}.conf`);
    writeFileSync(
      configFile,
      [
        `sentinel monitor ${MASTER_NAME} ${HOST} ${first.port} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${SENTINEL_DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${MASTER_NAME} ${SENTINEL_FAILOVER_TIMEOUT_MS}`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        '',
      ].join('\n'),
    );
    const launch = (port?: number) => startRedisServer({ port, configFile, args: ['--sentinel'] });
    sentinels.push(new RedisNode(`sentinel-${i}`, await launch(), (port) => launch(port)));
  }

  const masterPort = async (): Promise<number> => {
    const votes = await Promise.all(
      sentinels.filter((s) => s.alive).map(async (s) => {
        const addr = (await s.call('SENTINEL', 'get-master-addr-by-name', MASTER_NAME)) as string[] | null;
        return addr ? Number(addr[1]) : -1;
      }),
    );
    if (votes.length === 0 || votes.some((v) => v !== votes[0])) throw new Error(`sentinels disagree on the master: ${votes.join(', ')}`);
    return votes[0];
  };
  const byPort = (port: number): RedisNode => {
    const node = data.find((n) => n.port === port);
    if (!node) throw new Error(`no data node on port ${port}`);
    return node;
  };

  const waitHealthy = async (timeoutMs = 30_000): Promise<void> => {
    await waitFor(
      'a healthy sentinel set (sentinels agree, master has an online replica in sync, sentinels know each other)',
      async () => {
        const port = await masterPort();
        const master = byPort(port);
        const replica = data.find((n) => n !== master)!;
        if (!master.alive || !replica.alive) return false;
        const [mInfo, rInfo] = await Promise.all([master.info('replication'), replica.info('replication')]);
        if (mInfo.role !== 'master' || rInfo.role !== 'slave' || rInfo.master_link_status !== 'up') return false;
        if (Number(rInfo.master_port) !== port || mInfo.connected_slaves !== '1') return false;
        if (!/state=online/.test(mInfo.slave0 ?? '')) return false;
        for (const s of sentinels) {
          const others = (await s.call('SENTINEL', 'sentinels', MASTER_NAME)) as unknown[];
          if (others.length !== sentinels.length - 1) return false;
          const replicas = (await s.call('SENTINEL', 'replicas', MASTER_NAME)) as string[][];
          const healthy = replicas.some((fields) => {
            const f = pairs(fields);
            // (Sentinel refreshes a replica's link status only every 10 s: the replica's own INFO says it.)
            return Number(f.port) === replica.port && f.flags === 'slave';
          });
          if (!healthy) return false;
          const masterFlags = pairs((await s.call('SENTINEL', 'master', MASTER_NAME)) as string[]).flags;
          if (masterFlags !== 'master') return false;
        }
        return true;
      },
      timeoutMs,
    );
  };
  await waitHealthy();

  const topology: SentinelTopology = {
    kind: 'sentinel',
    nodes: data,
    sentinels,
    masterName: MASTER_NAME,
    redis: { sentinels: sentinels.map((s) => ({ host: HOST, port: s.port })), name: MASTER_NAME },
    master: async () => byPort(await masterPort()),
    replica: async () => {
      const port = await masterPort();
      return data.find((n) => n.port !== port)!;
    },
    masterFor: () => topology.master(),
    allEntries: async () => entriesOf([await topology.master()]),
    waitHealthy,
    failover: async () => {
      const before = await masterPort();
      await sentinels[0].call('SENTINEL', 'FAILOVER', MASTER_NAME);
      await waitFor('sentinel failover to switch master', async () => (await masterPort()) !== before, 20_000);
      // Sentinel demotes the old master on its next INFO of it, up to 10 s later (measured ~10 s):
      // do what it will do now, so the set is whole again sooner.
      const now = await masterPort();
      await byPort(before).call('REPLICAOF', HOST, now).catch(() => undefined);
      await waitHealthy();
    },
    restartAsReplica: async (node: RedisNode) => {
      const master = await topology.master();
      if (master === node) throw new Error(`${node.name} is still the master`);
      // Restart with --replicaof the current master, so it never serves as an empty master.
      await node.restart(dataLaunch(master.port));
    },
    stop: async () => {
      await stopAll([...sentinels, ...data]);
      removeDir();
    },
  };
  return topology;
}

/** RESP2/RESP3 flat field list (or map) -> object. */
function pairs(reply: unknown): Record<string, string> {
  if (reply instanceof Map) return Object.fromEntries([...reply.entries()].map(([k, v]) => [String(k), String(v)]));
  if (Array.isArray(reply)) {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
    return out;
  }
  if (reply && typeof reply === 'object') return Object.fromEntries(Object.entries(reply).map(([k, v]) => [k, String(v)]));
  return {};
}

// --- cluster ---------------------------------------------------------------------------------

export async function startCluster(): Promise<ClusterTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  const removeDir = trackTempDir(dir);
  const taken = new Set<number>();
  const clusterArgs = (port: number): string[] => [
    '--cluster-enabled', 'yes',
    // Outside the server's own (per-launch) dir, so a restarted node keeps its identity and rejoins.
    '--cluster-config-file', join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout', String(CLUSTER_NODE_TIMEOUT_MS),
    ...replicationArgs,
  ];
  const launch = (port: number) => startRedisServer({ port, args: clusterArgs(port) });

  const startNode = async (i: number): Promise<RedisNode> => {
    for (let attempt = 0; ; attempt++) {
      const port = await freeClusterPort(taken);
      taken.add(port);
      try {
        return new RedisNode(`node-${i}`, await launch(port), launch);
      } catch (error) {
        if (attempt >= 4 || !/Address already in use/i.test((error as Error).message)) throw error;
      }
    }
  };
  const nodes: RedisNode[] = [];
  for (let i = 1; i <= 6; i++) nodes.push(await startNode(i));
  await run(
    'redis-cli',
    ['--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
    60_000,
  );

  const live = (): RedisNode[] => nodes.filter((n) => n.alive);
  const ids = new Map<RedisNode, string>();
  const nodeId = async (node: RedisNode): Promise<string> => {
    let id = ids.get(node);
    if (!id) {
      id = String(await node.call('CLUSTER', 'MYID'));
      ids.set(node, id);
    }
    return id;
  };
  const byPort = (port: number): RedisNode => {
    const node = nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no cluster node on port ${port}`);
    return node;
  };
  /** CLUSTER SLOTS of a live node (its replica lists lag behind: use CLUSTER NODES for those). */
  const slotTable = async (): Promise<Array<{ start: number; end: number; master: number; replicas: number[] }>> => {
    let lastError: unknown;
    for (const node of live()) {
      try {
        const reply = (await node.call('CLUSTER', 'SLOTS')) as unknown[][];
        return reply.map((row) => ({
          start: Number(row[0]),
          end: Number(row[1]),
          master: Number((row[2] as unknown[])[1]),
          replicas: row.slice(3).map((r) => Number((r as unknown[])[1])),
        }));
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no live node answered CLUSTER SLOTS: ${(lastError as Error)?.message}`);
  };
  const slotOf = async (key: string): Promise<number> => Number(await live()[0].call('CLUSTER', 'KEYSLOT', key));

  const waitHealthy = async (timeoutMs = 30_000): Promise<void> => {
    await waitFor(
      'a healthy cluster (all 6 nodes up, cluster_state:ok everywhere, every master with an in-sync replica)',
      async () => {
        if (live().length !== nodes.length) return false;
        for (const node of nodes) {
          const info = String(await node.call('CLUSTER', 'INFO'));
          if (!/cluster_state:ok/.test(info) || !/cluster_known_nodes:6/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
          const repl = await node.info('replication');
          if (repl.role === 'slave' && repl.master_link_status !== 'up') return false;
          if (repl.role === 'master' && repl.connected_slaves !== '1') return false;
        }
        const table = await slotTable();
        const masters = new Set(table.map((r) => r.master));
        if (masters.size !== 3) return false;
        // Every node must see 3 connected masters and 3 connected replicas (a replica must be
        // known to the voters before it can win a failover election).
        for (const node of nodes) {
          const rows = await clusterNodes(node);
          const ok = (role: string) => rows.filter((r) => r.flags.includes(role) && !r.flags.includes('fail') && r.link === 'connected');
          if (ok('master').length !== 3 || ok('slave').length !== 3) return false;
        }
        return true;
      },
      timeoutMs,
    );
  };
  await waitHealthy();

  const topology: ClusterTopology = {
    kind: 'cluster',
    nodes,
    // All six as seeds: whichever nodes a drill killed, ioredis still finds the cluster.
    redis: { cluster: { nodes: nodes.map((n) => ({ host: HOST, port: n.port })) } },
    masters: async () => [...new Set((await slotTable()).map((r) => r.master))].map(byPort),
    replicaOf: async (master) => {
      const id = await nodeId(master);
      const row = (await clusterNodes(live().find((n) => n !== master) ?? master)).find((r) => r.masterId === id);
      if (!row) throw new Error(`${master.name} has no replica`);
      return byPort(row.port);
    },
    nodeId,
    slotOf,
    slotsOf: async (master) =>
      (await slotTable())
        .filter((r) => r.master === master.port)
        .map((r): [number, number] => [r.start, r.end])
        .sort((a, b) => a[0] - b[0]),
    masterFor: async (key) => {
      const slot = await slotOf(key);
      const row = (await slotTable()).find((r) => slot >= r.start && slot <= r.end);
      if (!row) throw new Error(`slot ${slot} is not served`);
      return byPort(row.master);
    },
    allEntries: async () => entriesOf(await topology.masters()),
    waitHealthy,
    reshard: async (from, to, slots) => {
      await run(
        'redis-cli',
        [
          '--cluster', 'reshard', `${HOST}:${to.port}`,
          '--cluster-from', await nodeId(from),
          '--cluster-to', await nodeId(to),
          '--cluster-slots', String(slots),
          '--cluster-yes',
        ],
        120_000,
      );
    },
    stop: async () => {
      await stopAll(nodes);
      removeDir();
    },
  };
  return topology;
}

interface ClusterNodesRow {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  link: string;
}

/** `CLUSTER NODES` of one node, parsed. */
async function clusterNodes(node: RedisNode): Promise<ClusterNodesRow[]> {
  const text = String(await node.call('CLUSTER', 'NODES'));
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, masterId, , , , link] = line.split(' ');
      return { id, port: Number(addr.split('@')[0].split(':')[1]), flags: flags.split(','), masterId, link };
    });
}

/** An ioredis client for the whole topology (Cluster client for a cluster), for assertions. */
export async function topologyClient(topology: Topology): Promise<Redis | Cluster> {
  const base: RedisOptions = { maxRetriesPerRequest: 1, commandTimeout: 2000 };
  if (topology.kind === 'cluster') {
    const cluster = new Cluster(topology.redis.cluster.nodes, { redisOptions: base });
    cluster.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', () => resolve());
      cluster.once('end', () => reject(new Error('cluster admin client ended before ready')));
    });
    return cluster;
  }
  const client =
    topology.kind === 'sentinel'
      ? new Redis({ ...base, sentinels: topology.redis.sentinels, name: topology.redis.name, lazyConnect: true })
      : new Redis(topology.redis.url, { ...base, lazyConnect: true });
  client.on('error', () => {});
  await client.connect();
  return client;
}
