import { SESSION_DEFAULTS } from './session-options.defaults.js';
import { describeValue } from './describe-value.js';
import { isOptionObject as isObject, unknownKeys, type RawOptions as Raw } from './option-shape.js';
import { pemProblems, signingKeyProblems } from './jwt-keys.rules.js';

/** Every top-level option of SessionModuleOptions. */
export const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'redis', 'store', 'strategy', 'ttl', 'touchAfter', 'keyPrefix', 'cookie', 'header', 'jwt',
  'maxDataBytes', 'maxSessionsPerUser', 'guard', 'cache', 'csrf', 'expiryEvents', 'metrics', 'durability', 'batchWrites',
  'rotationGraceMs', 'commit',
]);
const STRATEGY_NAMES = new Set(['session-id', 'jwt', 'hashed']);
const ALGORITHMS = new Set(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']);
const REDIS_FORMS = ['url', 'host', 'sentinels', 'cluster', 'client'] as const;
/** The keys each way of reaching Redis takes (SessionRedisOptions). */
const REDIS_FORM_KEYS = {
  url: ['url', 'options'],
  host: ['host', 'port', 'username', 'password', 'db', 'tls', 'options'],
  sentinels: ['sentinels', 'name', 'password', 'sentinelPassword', 'db', 'options'],
  cluster: ['cluster'],
  client: ['client'],
} as const;
const JWT_KEYS = ['secret', 'keys', 'algorithms', 'issuer', 'audience', 'expiresIn', 'transport'];
const JWT_KEY_FIELDS = ['kid', 'secret', 'privateKey', 'publicKey'];

export function strategyList(options: Raw): unknown[] {
  const raw = options.strategy ?? 'session-id';
  return Array.isArray(raw) ? raw : [raw];
}

export function checkStrategies(options: Raw): string[] {
  const problems = Object.keys(options)
    .filter((key) => !KNOWN_OPTIONS.has(key))
    .map((key) => `${key} is not a known option (known: ${[...KNOWN_OPTIONS].join(', ')})`);
  const list = strategyList(options);
  if (list.length === 0) problems.push('strategy must name at least one strategy (got [])');
  list.forEach((entry, i) => {
    const ok = typeof entry === 'function' || (typeof entry === 'string' && STRATEGY_NAMES.has(entry));
    const path = Array.isArray(options.strategy) ? `strategy[${i}]` : 'strategy';
    if (!ok) problems.push(`${path} must be 'session-id', 'jwt', 'hashed' or a strategy class (got ${describeValue(path, entry)})`);
  });
  if (new Set(list).size !== list.length) problems.push('strategy must not list a strategy twice');
  return problems;
}

export function checkRedisOptions(options: Raw): string[] {
  if (options.store === 'memory') return [];
  const redis = options.redis;
  if (redis === undefined) return ["redis is required when store is 'redis' (or set store: 'memory')"];
  if (!isObject(redis)) return [`redis must be an object (got ${describeValue('redis', redis)})`];
  const forms = REDIS_FORMS.filter((form) => redis[form] !== undefined);
  // `{ url: process.env.REDIS_URL }` with the variable unset: name the field, not "none".
  const unset = REDIS_FORMS.filter((form) => form in redis && redis[form] === undefined);
  if (forms.length === 0 && unset.length > 0) return [`redis.${unset[0]} is undefined (an environment variable not set?)`];
  if (forms.length !== 1) {
    return [`redis must have exactly one of url, host, sentinels, cluster or client (got ${forms.length ? forms.join(' and ') : 'none'})`];
  }
  const form = forms[0];
  return [...unknownKeys('redis', redis, REDIS_FORM_KEYS[form]), ...redisFormProblems(form, redis), ...connectionFieldProblems(redis)];
}

function redisFormProblems(form: (typeof REDIS_FORMS)[number], redis: Raw): string[] {
  const value = redis[form];
  switch (form) {
    case 'url':
      return typeof value === 'string' && /^rediss?:\/\/\S+$/.test(value)
        ? []
        : [`redis.url must be a redis:// or rediss:// URL (got ${describeValue('redis.url', value)})`];
    case 'host':
      return [
        ...(typeof value === 'string' && value.length > 0 ? [] : [`redis.host must be a non-empty string (got ${describeValue('redis.host', value)})`]),
        ...portProblems('redis.port', redis.port, true),
      ];
    case 'sentinels':
      return [
        ...(Array.isArray(value) && value.length > 0
          ? value.flatMap((node, i) => nodeProblems(`redis.sentinels[${i}]`, node))
          : [`redis.sentinels must be a non-empty array of { host, port } (got ${describeValue('redis.sentinels', value)})`]),
        ...(typeof redis.name === 'string' && redis.name ? [] : ['redis.name must name the Sentinel master (e.g. "mymaster")']),
      ];
    case 'cluster': {
      if (!isObject(value)) return [`redis.cluster must be { nodes, options? } (got ${describeValue('redis.cluster', value)})`];
      const nodes = value.nodes;
      return [
        ...unknownKeys('redis.cluster', value, ['nodes', 'options']),
        ...(Array.isArray(nodes) && nodes.length > 0 ? [] : [`redis.cluster.nodes must be a non-empty array (got ${describeValue('redis.cluster.nodes', nodes)})`]),
        ...(value.options === undefined || isObject(value.options) ? [] : ['redis.cluster.options must be an object of ioredis Cluster options']),
      ];
    }
    case 'client':
      return isObject(value) && typeof (value as { defineCommand?: unknown }).defineCommand === 'function'
        ? []
        : ['redis.client must be an ioredis Redis or Cluster instance'];
  }
}

/** The connection fields beside host, sentinels or url; ioredis would take a wrong type without a word. */
function connectionFieldProblems(redis: Raw): string[] {
  const problems: string[] = [];
  for (const field of ['username', 'password', 'sentinelPassword'] as const) {
    if (redis[field] !== undefined && typeof redis[field] !== 'string') problems.push(`redis.${field} must be a string (got ${describeValue(`redis.${field}`, redis[field])})`);
  }
  if (redis.db !== undefined && !(Number.isInteger(redis.db) && (redis.db as number) >= 0)) {
    problems.push(`redis.db must be a database number, an integer from 0 (got ${describeValue('redis.db', redis.db)})`);
  }
  if (redis.tls !== undefined && typeof redis.tls !== 'boolean' && !isObject(redis.tls)) {
    problems.push(`redis.tls must be true, false or Node TLS options (got ${describeValue('redis.tls', redis.tls)})`);
  }
  if (redis.options !== undefined && !isObject(redis.options)) problems.push(`redis.options must be an object of ioredis options (got ${describeValue('redis.options', redis.options)})`);
  return problems;
}

function portProblems(path: string, port: unknown, optional: boolean): string[] {
  if (port === undefined && optional) return [];
  return Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536
    ? []
    : [`${path} must be a port number 1-65535 (got ${describeValue(path, port)})`];
}

function nodeProblems(path: string, node: unknown): string[] {
  if (!isObject(node)) return [`${path} must be { host, port } (got ${describeValue(path, node)})`];
  return [
    ...(typeof node.host === 'string' && node.host ? [] : [`${path}.host must be a non-empty string`]),
    ...portProblems(`${path}.port`, node.port, false),
  ];
}

export function checkJwtOptions(options: Raw): string[] {
  const usesJwt = strategyList(options).includes('jwt');
  const jwt = options.jwt;
  // Unused, only its shape is checked: one config may carry jwt settings for a strategy switched by
  // environment, with the secret unset where jwt is off, but a misspelt key is a mistake anywhere.
  if (!usesJwt && jwt === undefined) return [];
  if (!usesJwt) return isObject(jwt) ? unknownKeys('jwt', jwt, JWT_KEYS) : []; // its type: session-options.validation
  if (!isObject(jwt)) return ["jwt is required when strategy includes 'jwt' (at least { secret })"];
  const problems = unknownKeys('jwt', jwt, JWT_KEYS);
  const algorithms = jwt.algorithms ?? SESSION_DEFAULTS.jwtAlgorithms;
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => ALGORITHMS.has(a as string))) {
    problems.push(`jwt.algorithms must be a non-empty list of ${[...ALGORITHMS].join(', ')} ('none' is never allowed) (got ${describeValue('jwt.algorithms', algorithms)})`);
  }
  const algorithmList: readonly unknown[] = Array.isArray(algorithms) ? algorithms : [];
  const hmac = Array.isArray(algorithms) && algorithms.some((a) => String(a).startsWith('HS'));
  const asymmetric = Array.isArray(algorithms) && algorithms.some((a) => ALGORITHMS.has(a as string) && !String(a).startsWith('HS'));
  if (hmac && asymmetric) problems.push('jwt.algorithms must not mix HMAC (HS*) and public-key algorithms (key confusion)');
  if ((jwt.secret === undefined) === (jwt.keys === undefined)) {
    problems.push('jwt must have exactly one of secret or keys');
  }
  if (jwt.secret !== undefined) problems.push(...secretProblems('jwt.secret', jwt.secret));
  if (jwt.keys !== undefined) {
    if (!Array.isArray(jwt.keys) || jwt.keys.length === 0) {
      problems.push('jwt.keys must be a non-empty array of { kid, secret | publicKey }');
    } else {
      const kids = new Set<unknown>();
      jwt.keys.forEach((key: unknown, i: number) => {
        const path = `jwt.keys[${i}]`;
        if (!isObject(key)) return problems.push(`${path} must be { kid, secret | publicKey }`);
        problems.push(...unknownKeys(path, key, JWT_KEY_FIELDS));
        if (typeof key.kid !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(key.kid)) problems.push(`${path}.kid must be 1-64 of A-Z a-z 0-9 . _ -`);
        if (kids.has(key.kid)) problems.push(`${path}.kid must be unique (got ${describeValue('kid', key.kid)} twice)`);
        kids.add(key.kid);
        if (hmac) problems.push(...secretProblems(`${path}.secret`, key.secret));
        else problems.push(...pemProblems(`${path}.publicKey`, key.publicKey, 'public', algorithmList));
        if (i === 0 && asymmetric) problems.push(...signingKeyProblems(path, key, algorithmList));
      });
    }
  }
  if (jwt.secret !== undefined && asymmetric) problems.push('jwt.secret only works with HS* algorithms; use jwt.keys with public keys');
  return problems;
}

function secretProblems(path: string, secret: unknown): string[] {
  if (typeof secret !== 'string') return [`${path} must be a string of at least ${SESSION_DEFAULTS.minHmacSecretBytes} bytes (got ${describeValue(path, secret)})`];
  const bytes = Buffer.byteLength(secret, 'utf8');
  return bytes >= SESSION_DEFAULTS.minHmacSecretBytes
    ? []
    : [`${path} must be at least ${SESSION_DEFAULTS.minHmacSecretBytes} bytes of UTF-8 (got ${bytes} bytes): a short HMAC key can be brute-forced`];
}

export function checkCookieSafety(options: Raw): string[] {
  const cookie = options.cookie;
  const problems: string[] = [];
  if (cookie === false) {
    const headerOnly = strategyList(options).every((s) => s === 'jwt' || typeof s === 'function');
    const jwtCookie = isObject(options.jwt) && options.jwt.transport === 'cookie';
    if (jwtCookie) problems.push("cookie must not be false when jwt.transport is 'cookie'");
    if (!headerOnly && options.header === undefined) problems.push('header must be set when cookie is false (e.g. "x-session-id" or "authorization")');
    return problems;
  }
  if (!isObject(cookie)) return problems;
  const secure = cookie.secure ?? true;
  if (cookie.sameSite === 'none' && !secure) problems.push("cookie.sameSite 'none' requires cookie.secure true (browsers reject it otherwise)");
  const name = typeof cookie.name === 'string' ? cookie.name : '';
  if (name.startsWith('__Host-')) {
    if (!secure) problems.push('cookie.name with the __Host- prefix requires cookie.secure true');
    if (cookie.domain !== undefined) problems.push('cookie.domain must not be set with the __Host- prefix');
    if (cookie.path !== undefined && cookie.path !== '/') problems.push("cookie.path must be '/' with the __Host- prefix");
  }
  if (name.startsWith('__Secure-') && !secure) problems.push('cookie.name with the __Secure- prefix requires cookie.secure true');
  if (cookie.httpOnly === false) problems.push('cookie.httpOnly must not be false: scripts must never read a session credential');
  return problems;
}

/** ioredis' commandTimeout the module will use, when it can tell (not for a `{ client }` it was given). */
function commandTimeoutOf(redis: unknown): number | null {
  if (!isObject(redis) || redis.client !== undefined) return null;
  const cluster = isObject(redis.cluster) ? redis.cluster : null;
  const clientOptions = cluster
    ? (isObject(cluster.options) && isObject(cluster.options.redisOptions) ? cluster.options.redisOptions : {})
    : (isObject(redis.options) ? redis.options : {});
  const timeout = clientOptions.commandTimeout;
  // RECOMMENDED_REDIS_OPTIONS.commandTimeout; no timeout at all when set to undefined on purpose.
  return typeof timeout === 'number' ? timeout : 'commandTimeout' in clientOptions ? null : 1000;
}

/**
 * WAIT counts the writes of the connection it arrives on. A write's WAIT must reach the connection
 * that carried the write, or it confirms nothing: on Cluster a slot can move to another node's
 * connection in between, and no check short of the node's own replication offset tells.
 */
export const DURABLE_WRITES_ON_CLUSTER =
  'durability.writes is not supported on Redis Cluster (WAIT must reach the connection that carried the write, ' +
  'and a slot can move to another node in between); remove it, or use a standalone/Sentinel Redis (sign-outs stay durable without it)';

export function checkDurability(options: Raw): string[] {
  const durability = options.durability;
  if (durability === undefined) return [];
  if (!isObject(durability)) return [`durability must be { replicas, timeoutMs, writes? } (got ${describeValue('durability', durability)})`];
  const problems = unknownKeys('durability', durability, ['replicas', 'timeoutMs', 'writes']);
  const { replicas, timeoutMs, writes } = durability;
  if (writes !== undefined && typeof writes !== 'boolean') {
    problems.push(`durability.writes must be true or false (got ${describeValue('durability.writes', writes)})`);
  }
  if (writes === true && isObject(options.redis) && options.redis.cluster !== undefined) problems.push(DURABLE_WRITES_ON_CLUSTER);
  if (!Number.isInteger(replicas) || (replicas as number) < 1) {
    problems.push(`durability.replicas must be a positive integer (got ${describeValue('durability.replicas', replicas)})`);
  }
  if (!Number.isInteger(timeoutMs) || (timeoutMs as number) < 1) {
    problems.push(`durability.timeoutMs must be a positive integer of milliseconds (got ${describeValue('durability.timeoutMs', timeoutMs)})`);
  } else {
    const limit = commandTimeoutOf(options.redis);
    if (limit !== null && (timeoutMs as number) >= limit) {
      problems.push(`durability.timeoutMs must be below the Redis commandTimeout (${limit} ms), or WAIT itself times out (got ${timeoutMs})`);
    }
  }
  if (options.store === 'memory') problems.push("durability needs the Redis store (store is 'memory')");
  return problems;
}
