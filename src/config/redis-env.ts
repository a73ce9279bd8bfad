/**
 * Where the demo's sessions live, from the environment: REDIS_URL (one server), REDIS_SENTINELS +
 * REDIS_SENTINEL_NAME (a Sentinel set) or REDIS_CLUSTER_NODES (a Cluster). At most one of them;
 * none means the memory store.
 */
import type { SessionModuleOptions } from '@app/session';

export interface RedisEnv {
  REDIS_URL?: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_NAME?: string;
  REDIS_CLUSTER_NODES?: string;
}

export interface HostPort {
  host: string;
  port: number;
}

const SOURCES = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const;
const EXAMPLE: Record<'REDIS_SENTINELS' | 'REDIS_CLUSTER_NODES', string> = {
  REDIS_SENTINELS: '10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26379',
  REDIS_CLUSTER_NODES: '10.0.0.5:6379,10.0.0.6:6379',
};
// A hostname or IPv4 address, or an IPv6 address in brackets ([::1]:26379).
const ENTRY = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):(\d{1,5})$/;

/** Parses `host:port,host:port`; each problem names the variable and the bad entry. */
export function parseHostPorts(variable: keyof typeof EXAMPLE, value: string): { nodes: HostPort[]; problems: string[] } {
  const nodes: HostPort[] = [];
  const problems: string[] = [];
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.every((entry) => entry === '')) {
    return { nodes, problems: [`${variable} must list at least one host:port, e.g. ${EXAMPLE[variable]} (got ${JSON.stringify(value)})`] };
  }
  for (const entry of entries) {
    const match = ENTRY.exec(entry);
    const port = Number(match?.[3]);
    if (!match) problems.push(`${variable}: ${JSON.stringify(entry)} is not host:port, e.g. ${EXAMPLE[variable]}`);
    else if (port < 1 || port > 65535) problems.push(`${variable}: the port of ${JSON.stringify(entry)} is not 1-65535`);
    else nodes.push({ host: match[1] ?? match[2], port });
  }
  return { nodes, problems };
}

/** Everything wrong with the Redis variables (empty when they are usable). */
export function redisProblems(env: RedisEnv): string[] {
  const set = SOURCES.filter((name) => env[name] !== undefined);
  const problems: string[] = [];
  if (set.length > 1) problems.push(`Set only one of ${SOURCES.join(', ')} (got ${set.join(' and ')})`);
  if (env.REDIS_SENTINELS !== undefined) {
    problems.push(...parseHostPorts('REDIS_SENTINELS', env.REDIS_SENTINELS).problems);
    if (!env.REDIS_SENTINEL_NAME) problems.push('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS: the master name the sentinels monitor (e.g. mymaster)');
  } else if (env.REDIS_SENTINEL_NAME !== undefined) {
    problems.push('REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not: list the sentinels as host:port');
  }
  if (env.REDIS_CLUSTER_NODES !== undefined) problems.push(...parseHostPorts('REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES).problems);
  return problems;
}

/** The library's `store` and `redis` options for a validated env. */
export function storeOptionsFrom(env: RedisEnv): Pick<SessionModuleOptions, 'store' | 'redis'> {
  if (env.REDIS_URL) return { store: 'redis', redis: { url: env.REDIS_URL } };
  if (env.REDIS_SENTINELS && env.REDIS_SENTINEL_NAME) {
    return { store: 'redis', redis: { sentinels: parseHostPorts('REDIS_SENTINELS', env.REDIS_SENTINELS).nodes, name: env.REDIS_SENTINEL_NAME } };
  }
  if (env.REDIS_CLUSTER_NODES) return { store: 'redis', redis: { cluster: { nodes: parseHostPorts('REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES).nodes } } };
  return { store: 'memory' };
}

/** One line for the startup log, without credentials. */
export function describeStore(env: RedisEnv): string | undefined {
  if (env.REDIS_URL) return `Redis (${env.REDIS_URL.replace(/\/\/[^@]*@/, '//***@')})`;
  if (env.REDIS_SENTINELS) return `Redis via Sentinel (master ${env.REDIS_SENTINEL_NAME}, sentinels ${env.REDIS_SENTINELS})`;
  if (env.REDIS_CLUSTER_NODES) return `Redis Cluster (seeds ${env.REDIS_CLUSTER_NODES})`;
  return undefined;
}
