/**
 * What Redis did during a measured run, from counters read before and after it:
 * - INFO commandstats: calls and usec per command (commands run inside a Lua script count too);
 * - INFO stats: total_net_input_bytes (bytes clients sent to Redis) and total_net_output_bytes;
 * - INFO cpu: used_cpu_user + used_cpu_sys of the redis-server process (networking included).
 * Round trips (commands sent over the wire, script internals excluded) come from MONITOR, on a few
 * sequential requests after the timed run (MONITOR itself slows Redis down).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface RedisCounters {
  calls: Record<string, number>;
  usec: Record<string, number>;
  netIn: number;
  netOut: number;
  cpuSeconds: number;
}

/** Commands the benchmark itself sends (INFO, MEMORY...) or the near-cache heartbeat: not app work. */
const OWN = new Set(['info', 'ping', 'memory', 'monitor', 'config|resetstat', 'client|list', 'dbsize', 'flushall']);

export async function readCounters(clients: Redis[]): Promise<RedisCounters> {
  const total: RedisCounters = { calls: {}, usec: {}, netIn: 0, netOut: 0, cpuSeconds: 0 };
  for (const client of clients) {
    const text = (await client.call('INFO', 'commandstats', 'stats', 'cpu')) as string;
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      const name = m[1].toLowerCase();
      if (OWN.has(name)) continue;
      total.calls[name] = (total.calls[name] ?? 0) + Number(m[2]);
      total.usec[name] = (total.usec[name] ?? 0) + Number(m[3]);
    }
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
    total.netIn += field('total_net_input_bytes');
    total.netOut += field('total_net_output_bytes');
    total.cpuSeconds += field('used_cpu_user') + field('used_cpu_sys');
  }
  return total;
}

export interface RedisDelta {
  /** Commands executed, script internals included. */
  commands: number;
  byCommand: Record<string, number>;
  /** usec of the commands sent over the wire (script time included in EVALSHA). */
  topLevelUsec: number;
  netIn: number;
  netOut: number;
  cpuSeconds: number;
}

/** Script-internal commands are counted twice in usec (inside EVALSHA and on their own). */
const SCRIPT_COMMANDS = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall', 'fcall_ro']);

export function delta(before: RedisCounters, after: RedisCounters): RedisDelta {
  const byCommand: Record<string, number> = {};
  let commands = 0;
  for (const [name, calls] of Object.entries(after.calls)) {
    const d = calls - (before.calls[name] ?? 0);
    if (d > 0) {
      byCommand[name] = d;
      commands += d;
    }
  }
  const scripted = Object.keys(byCommand).some((name) => SCRIPT_COMMANDS.has(name));
  let topLevelUsec = 0;
  for (const [name, usec] of Object.entries(after.usec)) {
    // With scripts in play, only the script commands are top level for this benchmark's apps.
    if (!scripted || SCRIPT_COMMANDS.has(name)) topLevelUsec += usec - (before.usec[name] ?? 0);
  }
  return {
    commands,
    byCommand,
    topLevelUsec,
    netIn: after.netIn - before.netIn,
    netOut: after.netOut - before.netOut,
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
  };
}

/**
 * Runs `action` under MONITOR on every node and returns the commands other clients sent over the
 * wire (not from Lua, not the benchmark's own, not the near-cache heartbeat), by name.
 */
export async function roundTrips(nodes: Redis[], action: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const monitors = await Promise.all(nodes.map((n) => n.monitor()));
  const marker = `bench-marker-${randomBytes(4).toString('hex')}`;
  const own = new Set(nodes.map(localAddress));
  const markers = monitors.map(
    (monitor) =>
      new Promise<void>((resolve) => {
        monitor.on('monitor', (_time: string, args: string[], source: string) => {
          const name = String(args[0] ?? '').toLowerCase();
          if (name === 'ping' && args[1] === marker) return resolve();
          if (source === 'lua' || own.has(source) || name === 'ping') return;
          seen.push(name);
        });
      }),
  );
  try {
    await action();
    await Promise.all(nodes.map((n) => n.ping(marker)));
    await Promise.race([Promise.all(markers), new Promise((_, reject) => setTimeout(() => reject(new Error('MONITOR marker not seen')), 3000))]);
    return seen;
  } finally {
    for (const monitor of monitors) monitor.disconnect();
  }
}

function localAddress(client: Redis): string {
  const stream = (client as unknown as { stream?: { localAddress?: string; localPort?: number } }).stream;
  return `${stream?.localAddress}:${stream?.localPort}`;
}
