/**
 * E2E helper: what an HTTP request made Redis do, measured from a separate connection.
 *
 * - `INFO commandstats` deltas count every command Redis executed, including the ones a Lua script
 *   runs internally (a single EVALSHA of the load-and-touch script shows up as evalsha + hmget +
 *   hgetall). They answer "did this request reach Redis at all?" (delta 0) exactly.
 * - Round trips (commands the app sent over the wire) are counted with MONITOR, which labels
 *   commands run inside a script with the source `lua`; only the others are round trips.
 * - Writes are counted with `rdb_changes_since_last_save` (Redis' dirty counter), which every
 *   write increments, inside scripts too.
 * The probe's own commands (INFO, the MONITOR marker PING) are excluded.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export type CommandCounts = Record<string, number>;

export interface RedisCounters {
  /** calls per command name (lower case), INFO excluded. */
  commands: CommandCounts;
  /** rdb_changes_since_last_save. */
  dirty: number;
}

export async function readCounters(client: Redis): Promise<RedisCounters> {
  const text = (await client.call('INFO', 'commandstats', 'persistence')) as string;
  const commands: CommandCounts = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const name = match[1].toLowerCase();
    if (name !== 'info') commands[name] = Number(match[2]);
  }
  const dirty = Number(/^rdb_changes_since_last_save:(\d+)/m.exec(text)?.[1] ?? NaN);
  return { commands, dirty };
}

export interface RedisActivity {
  /** Commands executed (script-internal ones included), per name; only non-zero deltas. */
  commands: CommandCounts;
  /** Sum of `commands`. */
  executed: number;
  /** Writes (dirty counter delta). */
  writes: number;
}

export function activityBetween(before: RedisCounters, after: RedisCounters): RedisActivity {
  const commands: CommandCounts = {};
  for (const [name, calls] of Object.entries(after.commands)) {
    const delta = calls - (before.commands[name] ?? 0);
    if (delta !== 0) commands[name] = delta;
  }
  return {
    commands,
    executed: Object.values(commands).reduce((a, b) => a + b, 0),
    writes: after.dirty - before.dirty,
  };
}

/** Runs `action` and reports what Redis executed meanwhile (INFO commandstats + dirty counter). */
export async function measureRedis<T>(client: Redis, action: () => Promise<T>): Promise<{ result: T; activity: RedisActivity }> {
  const before = await readCounters(client);
  const result = await action();
  const after = await readCounters(client);
  return { result, activity: activityBetween(before, after) };
}

export interface MonitoredCommand {
  /** Lower-case command name, e.g. `evalsha`. */
  name: string;
  /** `ip:port` of the connection that sent it, or `lua` for a command run inside a script. */
  source: string;
}

/**
 * Runs `action` under MONITOR and returns the commands other connections sent over the wire
 * (script-internal commands and the probe's own marker excluded), in order.
 */
export async function roundTripsDuring<T>(client: Redis, action: () => Promise<T>): Promise<{ result: T; roundTrips: MonitoredCommand[] }> {
  const monitor = await client.monitor();
  const seen: MonitoredCommand[] = [];
  const marker = `e2e-marker-${randomBytes(6).toString('hex')}`;
  let markerSeen: () => void = () => {};
  const markerArrived = new Promise<void>((resolve) => {
    markerSeen = resolve;
  });
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = String(args[0] ?? '').toLowerCase();
    if (name === 'ping' && args[1] === marker) return markerSeen();
    seen.push({ name, source });
  });
  try {
    const result = await action();
    // MONITOR reports commands in execution order: once the marker shows up, everything the
    // action caused has been reported.
    await client.ping(marker);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        markerArrived,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('MONITOR marker not seen within 2 s')), 2000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    const own = ownAddress(client);
    return { result, roundTrips: seen.filter((c) => c.source !== 'lua' && c.source !== own) };
  } finally {
    // Wait for the close, so no ioredis timer outlives the test (see redis-server.ts).
    const ended = new Promise<void>((resolve) => monitor.once('end', () => resolve()));
    monitor.disconnect();
    await ended;
  }
}

function ownAddress(client: Redis): string {
  const stream = (client as unknown as { stream?: { localAddress?: string; localPort?: number } }).stream;
  return `${stream?.localAddress}:${stream?.localPort}`;
}

export interface SeenCommand {
  /** Lower-case command name. */
  name: string;
  /** Arguments after the name. */
  args: string[];
  /** `ip:port` of the sender, or `lua` for a command a script ran. */
  source: string;
}

/**
 * Runs `action` under MONITOR on each of `clients` (e.g. every master of a topology) and returns
 * every command the servers executed meanwhile, script-internal ones included, in order per server.
 * The same marker as roundTripsDuring tells when a server has reported everything.
 */
export async function commandsDuring<T>(clients: readonly Redis[], action: () => Promise<T>): Promise<{ result: T; commands: SeenCommand[] }> {
  const seen: SeenCommand[] = [];
  const marker = `e2e-marker-${randomBytes(6).toString('hex')}`;
  const monitors = await Promise.all(clients.map((client) => client.monitor()));
  const arrived = monitors.map(
    (monitor) =>
      new Promise<void>((resolve) => {
        monitor.on('monitor', (_time: string, argv: string[], source: string) => {
          const name = String(argv[0] ?? '').toLowerCase();
          if (name === 'ping' && argv[1] === marker) return resolve();
          seen.push({ name, args: argv.slice(1).map(String), source });
        });
      }),
  );
  try {
    const result = await action();
    await Promise.all(clients.map((client) => client.ping(marker)));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all(arrived),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('MONITOR marker not seen within 2 s')), 2000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return { result, commands: seen };
  } finally {
    await Promise.all(
      monitors.map((monitor) => {
        const ended = new Promise<void>((resolve) => monitor.once('end', () => resolve()));
        monitor.disconnect();
        return ended;
      }),
    );
  }
}
