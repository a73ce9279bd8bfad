/**
 * `npm run bench:reply` (about 20 s): what the shape of the read's reply costs the app, and what
 * reading through a script costs Redis.
 *
 * The read path's one command returns a session hash. Returned as a RESP array (what HGETALL gives),
 * ioredis decodes every field and value as its own element; returned as one JSON string
 * (cjson.encode in the script, JSON.parse in the app), it decodes one bulk string. Inside a script,
 * Redis converts HGETALL's reply into a Lua table first, element by element; a plain HGETALL (no
 * script) shows what that costs. All three read the same hash on a private redis-server; 32 calls
 * in flight, like the benchmark's connections. Prints the app's CPU per call (process.cpuUsage) and
 * Redis's (INFO cpu, and the command's own time from commandstats) for sessions of 0, 10 and 40
 * data keys, alternating the shapes over several rounds; the best round of each counts.
 */
import { Redis } from 'ioredis';
import { turnOrder } from './lib/alternating.js';
import { startRedisServer } from '../test/support/redis-server.js';

const CALLS = 20_000;
const IN_FLIGHT = 32;
const ROUNDS = 4;
const DATA_KEYS = [0, 10, 40];

/** The metadata fields every session hash carries (see redis-schema.ts), plus `dataKeys` cart items. */
function sessionFields(dataKeys: number): string[] {
  const now = Date.now();
  const fields = ['m:v', '1', 'm:c', String(now), 'm:l', String(now), 'm:d', String(now + 3_600_000), 'm:u', 'user-42',
    'm:h', 'h'.repeat(22), 'm:ua', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36', 'm:s', '300', 'm:k', 'session-id'];
  for (let i = 0; i < dataKeys; i++) fields.push(`d:cart:sku-${i}`, JSON.stringify({ qty: i + 1, note: 'gift' }));
  return fields;
}

const SHAPES = ['HGETALL, no script', 'script, RESP array', 'script, one JSON string'] as const;
type Shape = (typeof SHAPES)[number];
interface Read {
  /** The script's source; none for the plain command. */
  lua?: string;
  /** The commandstats entry that times it. */
  command: 'hgetall' | 'evalsha';
  decode: (reply: unknown) => string[];
}
const READS: Record<Shape, Read> = {
  'HGETALL, no script': { command: 'hgetall', decode: (reply) => reply as string[] },
  'script, RESP array': { lua: "return redis.call('HGETALL', KEYS[1])", command: 'evalsha', decode: (reply) => reply as string[] },
  'script, one JSON string': {
    lua: "return cjson.encode(redis.call('HGETALL', KEYS[1]))",
    command: 'evalsha',
    decode: (reply) => JSON.parse(reply as string) as string[],
  },
};
const scriptName = (shape: Shape) => `read${SHAPES.indexOf(shape)}`;

interface Figures {
  appUs: number;
  redisCpuUs: number;
  redisCommandUs: number;
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const text = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

async function measure(redis: Redis, shape: Shape, key: string, expectedLength: number): Promise<Figures> {
  const read = READS[shape];
  const script = (redis as unknown as Record<string, (key: string) => Promise<unknown>>)[scriptName(shape)];
  // redis.call gives HGETALL's raw array, as the script returns it (hgetall() would build an object).
  const call = read.lua ? (k: string) => (script as (key: string) => Promise<unknown>).call(redis, k) : (k: string) => redis.call('HGETALL', k);
  await redis.config('RESETSTAT');
  const redisBefore = await redisCpuSeconds(redis);
  const appBefore = process.cpuUsage();
  let started = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (started < CALLS) {
        started++;
        const fields = read.decode(await call(key));
        if (fields.length !== expectedLength) throw new Error(`${shape}: ${fields.length} elements, expected ${expectedLength}`);
      }
    }),
  );
  const app = process.cpuUsage(appBefore);
  const redisCpu = (await redisCpuSeconds(redis)) - redisBefore;
  const stats = new RegExp(`^cmdstat_${read.command}:calls=(\\d+),usec=(\\d+)`, 'm').exec(await redis.info('commandstats'));
  return {
    appUs: (app.user + app.system) / CALLS,
    redisCpuUs: (redisCpu * 1e6) / CALLS,
    redisCommandUs: stats ? Number(stats[2]) / Number(stats[1]) : NaN,
  };
}

const best = (runs: Figures[]): Figures => runs.reduce((a, b) => (b.appUs < a.appUs ? b : a));
const f = (n: number) => n.toFixed(1);

async function main(): Promise<void> {
  const server = await startRedisServer();
  const redis = new Redis({ host: server.host, port: server.port });
  try {
    for (const shape of SHAPES) {
      const { lua } = READS[shape];
      if (lua) redis.defineCommand(scriptName(shape), { numberOfKeys: 1, lua });
    }
    const rows: string[] = [];
    for (const dataKeys of DATA_KEYS) {
      const key = `{bench-session-${dataKeys}}`;
      const fields = sessionFields(dataKeys);
      await redis.hset(key, ...fields);
      const runs = new Map<Shape, Figures[]>(SHAPES.map((shape) => [shape, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const shape of turnOrder(SHAPES, round)) runs.get(shape)?.push(await measure(redis, shape, key, fields.length));
      }
      const figures = SHAPES.map((shape) => best(runs.get(shape) ?? []));
      rows.push(
        `| ${dataKeys} (${fields.length / 2} fields) | ${figures.map((x) => `${f(x.appUs)} µs`).join(' | ')} | ` +
          `${figures.map((x) => `${f(x.redisCpuUs)} / ${f(x.redisCommandUs)} µs`).join(' | ')} |`,
      );
    }
    process.stdout.write(
      [
        `Reading a session hash: ${CALLS} calls per run, ${IN_FLIGHT} in flight, best of ${ROUNDS} alternating runs; Node ${process.version}.`,
        '',
        `| data keys | ${SHAPES.map((shape) => `app CPU per call, ${shape}`).join(' | ')} | ${SHAPES.map((shape) => `Redis CPU / command time per call, ${shape}`).join(' | ')} |`,
        `|--:|${SHAPES.map(() => '--:|').join('')}${SHAPES.map(() => '--:|').join('')}`,
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:reply failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
