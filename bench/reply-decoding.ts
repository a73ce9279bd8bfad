/**
 * `npm run bench:reply` (about 20 s): what the shape of the read script's reply costs the app.
 *
 * The read path's one command returns a session hash. Returned as a RESP array (what HGETALL gives),
 * ioredis decodes every field and value as its own element; returned as one JSON string
 * (cjson.encode in the script, JSON.parse in the app), it decodes one bulk string. Both scripts
 * read the same hash on a private redis-server; 32 calls in flight, like the benchmark's
 * connections. Prints the app's CPU per call (process.cpuUsage) and Redis's (INFO cpu, and the
 * script's own time from commandstats) for sessions of 0, 10 and 40 data keys, alternating the two
 * shapes over several rounds; the best round of each counts.
 */
import { Redis } from 'ioredis';
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

type Shape = 'RESP array' | 'one JSON string';
const SCRIPTS: Record<Shape, { name: string; lua: string; decode: (reply: unknown) => string[] }> = {
  'RESP array': {
    name: 'readArray',
    lua: "return redis.call('HGETALL', KEYS[1])",
    decode: (reply) => reply as string[],
  },
  'one JSON string': {
    name: 'readJson',
    lua: "return cjson.encode(redis.call('HGETALL', KEYS[1]))",
    decode: (reply) => JSON.parse(reply as string) as string[],
  },
};

interface Figures {
  appUs: number;
  redisCpuUs: number;
  redisScriptUs: number;
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const text = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

async function measure(redis: Redis, shape: Shape, key: string, expectedLength: number): Promise<Figures> {
  const script = SCRIPTS[shape];
  const call = (redis as unknown as Record<string, (key: string) => Promise<unknown>>)[script.name].bind(redis);
  await redis.config('RESETSTAT');
  const redisBefore = await redisCpuSeconds(redis);
  const appBefore = process.cpuUsage();
  let started = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (started < CALLS) {
        started++;
        const fields = script.decode(await call(key));
        if (fields.length !== expectedLength) throw new Error(`${shape}: ${fields.length} elements, expected ${expectedLength}`);
      }
    }),
  );
  const app = process.cpuUsage(appBefore);
  const redisCpu = (await redisCpuSeconds(redis)) - redisBefore;
  const stats = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(await redis.info('commandstats'));
  return {
    appUs: (app.user + app.system) / CALLS,
    redisCpuUs: (redisCpu * 1e6) / CALLS,
    redisScriptUs: stats ? Number(stats[2]) / Number(stats[1]) : NaN,
  };
}

const best = (runs: Figures[]): Figures => runs.reduce((a, b) => (b.appUs < a.appUs ? b : a));
const f = (n: number) => n.toFixed(1);

async function main(): Promise<void> {
  const server = await startRedisServer();
  const redis = new Redis({ host: server.host, port: server.port });
  try {
    for (const { name, lua } of Object.values(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 1, lua });
    const rows: string[] = [];
    for (const dataKeys of DATA_KEYS) {
      const key = `{bench-session-${dataKeys}}`;
      const fields = sessionFields(dataKeys);
      await redis.hset(key, ...fields);
      const runs: Record<Shape, Figures[]> = { 'RESP array': [], 'one JSON string': [] };
      for (let round = 0; round < ROUNDS; round++) {
        const order: Shape[] = round % 2 === 0 ? ['RESP array', 'one JSON string'] : ['one JSON string', 'RESP array'];
        for (const shape of order) runs[shape].push(await measure(redis, shape, key, fields.length));
      }
      const array = best(runs['RESP array']);
      const json = best(runs['one JSON string']);
      rows.push(
        `| ${dataKeys} (${fields.length / 2} fields) | ${f(array.appUs)} µs | ${f(json.appUs)} µs | ${f(array.redisCpuUs)} / ${f(array.redisScriptUs)} µs | ${f(json.redisCpuUs)} / ${f(json.redisScriptUs)} µs |`,
      );
    }
    process.stdout.write(
      [
        `Reply shape of the read script: ${CALLS} calls per run, ${IN_FLIGHT} in flight, best of ${ROUNDS} alternating runs; Node ${process.version}.`,
        '',
        '| data keys | app CPU per call, RESP array | app CPU per call, one JSON string | Redis CPU / script time per call, RESP array | Redis CPU / script time per call, JSON string |',
        '|--:|--:|--:|--:|--:|',
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
