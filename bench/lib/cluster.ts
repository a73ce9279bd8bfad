/**
 * A Redis Cluster of 3 masters on loopback for the Cluster run. Uses the shared topology helper
 * (test/support/redis-topology.ts: 3 masters + 3 replicas); if it cannot start one, falls back to
 * 3 masters without replicas started here.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';

export interface BenchCluster {
  readonly nodes: Array<{ host: string; port: number }>;
  /** One client per master, for INFO counters and FLUSHALL. */
  readonly masters: Redis[];
  readonly description: string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

export async function startBenchCluster(log: (line: string) => void): Promise<BenchCluster> {
  try {
    const { startCluster } = await import('../../test/support/redis-topology.js');
    const topology = await startCluster();
    await topology.waitHealthy();
    const masters = await Promise.all((await topology.masters()).map((m) => m.client()));
    return {
      nodes: topology.redis.cluster.nodes,
      masters,
      description: '3 masters + 3 replicas (test/support/redis-topology.ts)',
      stop: async () => {
        for (const m of masters) m.disconnect();
        await topology.stop();
      },
    };
  } catch (error) {
    log(`cluster: the topology helper failed (${(error as Error).message.split('\n')[0]}); starting 3 masters here`);
    return startThreeMasters();
  }
}

async function portPairFree(port: number): Promise<boolean> {
  const free = (p: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(p, HOST, () => server.close(() => resolve(true)));
    });
  return (await free(port)) && (await free(port + 10000));
}

async function startThreeMasters(): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const servers: RedisServerHandle[] = [];
  // The cluster bus listens on port + 10000: pick ports low enough for that to exist.
  for (let port = 12000 + Math.floor(Math.random() * 6000); servers.length < 3; port++) {
    if (!(await portPairFree(port))) continue;
    const args = ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '1000'];
    servers.push(await startRedisServer({ port, args }));
  }
  await promisify(execFile)('redis-cli', ['--cluster', 'create', ...servers.map((s) => `${HOST}:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
    timeout: 30_000,
  });
  const masters = await Promise.all(servers.map((s) => new Redis({ host: HOST, port: s.port })));
  const deadline = Date.now() + 20_000;
  while (!(await Promise.all(masters.map((m) => m.call('CLUSTER', 'INFO')))).every((i) => String(i).includes('cluster_state:ok'))) {
    if (Date.now() > deadline) throw new Error('cluster did not reach cluster_state:ok');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    nodes: servers.map((s) => ({ host: HOST, port: s.port })),
    masters,
    description: '3 masters, no replicas',
    stop: async () => {
      for (const m of masters) m.disconnect();
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
