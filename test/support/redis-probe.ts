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
import { createConnection } from 'node:net';
import type { Redis } from 'ioredis';
import { commandOn } from './redis-topology.js';

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

/** One MONITOR line (`+1700000000.123456 [0 127.0.0.1:5000] "GET" "k"`), or undefined for others. */
export function parseMonitorLine(line: string): SeenCommand | undefined {
  const head = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] /.exec(line);
  if (!head) return undefined;
  const argv: string[] = [];
  const rest = line.slice(head[0].length);
  const quoted = /"((?:[^"\\]|\\.)*)"/g;
  for (const match of rest.matchAll(quoted)) {
    argv.push(
      match[1].replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, esc: string) =>
        esc.length === 3 ? String.fromCharCode(parseInt(esc.slice(1), 16)) : ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[esc] ?? esc,
      ),
    );
  }
  return { name: String(argv[0] ?? '').toLowerCase(), args: argv.slice(1), source: head[1] };
}

/**
 * Runs `action` under MONITOR on each node of `ports` (e.g. every master of a topology) and returns
 * every command the nodes executed meanwhile, script-internal ones included, in order per node.
 * A plain socket rather than ioredis' monitor(): on a busy server, MONITOR lines that arrive in the
 * same packet as its +OK make ioredis throw "Command queue state error". A PING with a marker tells
 * when a node has reported everything.
 */
export async function commandsDuring<T>(ports: readonly number[], action: () => Promise<T>): Promise<{ result: T; commands: SeenCommand[] }> {
  const seen: SeenCommand[] = [];
  const marker = `e2e-marker-${randomBytes(6).toString('hex')}`;
  const monitors = await Promise.all(ports.map((port) => monitorNode(port, marker, (command) => seen.push(command))));
  try {
    const result = await action();
    await Promise.all(monitors.map((monitor) => monitor.flushed()));
    return { result, commands: seen };
  } finally {
    for (const monitor of monitors) monitor.close();
  }
}

async function monitorNode(port: number, marker: string, onCommand: (command: SeenCommand) => void) {
  if (!Number.isInteger(port) || port === 6379) throw new Error(`refusing port ${String(port)}: not a private test server`);
  const socket = createConnection({ host: '127.0.0.1', port });
  let buffered = '';
  let ok: () => void = () => {};
  let markerSeen: () => void = () => {};
  const started = new Promise<void>((resolve) => (ok = resolve));
  const arrived = new Promise<void>((resolve) => (markerSeen = resolve));
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\r\n')) >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (line === '+OK') ok();
      const command = parseMonitorLine(line);
      if (!command) continue;
      if (command.name === 'ping' && command.args[0] === marker) markerSeen();
      else onCommand(command);
    }
  });
  const failed = new Promise<never>((_, reject) => socket.once('error', reject));
  failed.catch(() => {});
  socket.write('MONITOR\r\n');
  await Promise.race([started, failed]);
  return {
    flushed: async () => {
      await commandOn(port, ['PING', marker]);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([arrived, failed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`MONITOR marker not seen on ${port} within 2 s`)), 2000)))]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => socket.destroy(),
  };
}
