import { plainToInstance } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import type { ConfigService } from '@nestjs/config';
import type { SessionCommitMode, SessionModuleOptions, SessionStrategyName } from '@app/session';
import { redisProblems, storeOptionsFrom } from './redis-env.js';

const STRATEGIES = ['session-id', 'jwt', 'hashed'];
const GRACE_RULE = { message: 'SESSION_ROTATION_GRACE_MS must be 0 (off) to 60000 ms' };

/** The demo's environment, validated at startup: a bad value stops the app and names the variable. */
export class DemoEnv {
  @IsOptional() @Matches(/^(session-id|jwt|hashed)(,(session-id|jwt|hashed))*$/, {
    message: `SESSION_STRATEGY must be one of ${STRATEGIES.join(', ')} or a comma list of them`,
  })
  SESSION_STRATEGY?: string;
  @IsOptional() @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;
  /** Sentinel: `host:port,host:port` of the sentinels, with REDIS_SENTINEL_NAME (checked in validateDemoEnv). */
  @IsOptional() @IsString() REDIS_SENTINELS?: string;
  @IsOptional() @Matches(/^\S+$/, { message: 'REDIS_SENTINEL_NAME must be the master name the sentinels monitor (no spaces)' })
  REDIS_SENTINEL_NAME?: string;
  /** Cluster: `host:port,host:port` of some (seed) nodes; the client discovers the rest. */
  @IsOptional() @IsString() REDIS_CLUSTER_NODES?: string;
  @IsOptional() @IsInt({ message: 'PORT must be an integer' }) @Min(0) @Max(65535) PORT?: number;
  @IsOptional() @IsInt({ message: 'SESSION_IDLE_TTL must be a positive integer (seconds)' }) @Min(1) SESSION_IDLE_TTL?: number;
  @IsOptional() @IsInt({ message: 'SESSION_ABSOLUTE_TTL must be a positive integer (seconds)' }) @Min(1) SESSION_ABSOLUTE_TTL?: number;
  @IsOptional() @IsInt({ message: 'SESSION_MAX_PER_USER must be a positive integer' }) @Min(1) SESSION_MAX_PER_USER?: number;
  @IsOptional() @IsIn(['true', 'false'], { message: 'COOKIE_SECURE must be true or false' }) COOKIE_SECURE?: string;
  @IsOptional() @IsString() JWT_SECRET?: string;
  @IsOptional() @IsString() JWT_ISSUER?: string;
  @IsOptional() @IsString() JWT_AUDIENCE?: string;
  @IsOptional() @IsInt({ message: 'SESSION_MAX_DATA_BYTES must be a positive integer' }) @Min(1) SESSION_MAX_DATA_BYTES?: number;
  /** How long a rotated-away credential still reads its old session (the library's `rotationGraceMs`). */
  @IsOptional() @IsInt(GRACE_RULE) @Min(0, GRACE_RULE) @Max(60_000, GRACE_RULE) SESSION_ROTATION_GRACE_MS?: number;
  /** Lets several demo instances or test suites share one Redis without seeing each other's keys. */
  @IsOptional() @IsString() SESSION_KEY_PREFIX?: string;
  /** The HTTP platform (src/http-adapter.ts); the library works on both. */
  @IsOptional() @IsIn(['express', 'fastify'], { message: 'HTTP_ADAPTER must be express or fastify' }) HTTP_ADAPTER?: string;
  /** Where the library saves session changes (its `commit` option). */
  @IsOptional() @IsIn(['auto', 'interceptor', 'on-send'], { message: 'SESSION_COMMIT must be auto, interceptor or on-send' }) SESSION_COMMIT?: string;
}

const ENV_KEYS: Array<keyof DemoEnv> = [
  'SESSION_STRATEGY', 'REDIS_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_CLUSTER_NODES', 'PORT', 'SESSION_IDLE_TTL', 'SESSION_ABSOLUTE_TTL', 'SESSION_MAX_PER_USER',
  'COOKIE_SECURE', 'JWT_SECRET', 'JWT_ISSUER', 'JWT_AUDIENCE', 'SESSION_MAX_DATA_BYTES', 'SESSION_KEY_PREFIX', 'HTTP_ADAPTER',
  'SESSION_COMMIT', 'SESSION_ROTATION_GRACE_MS',
];
const NUMERIC: Array<keyof DemoEnv> = ['PORT', 'SESSION_IDLE_TTL', 'SESSION_ABSOLUTE_TTL', 'SESSION_MAX_PER_USER', 'SESSION_MAX_DATA_BYTES', 'SESSION_ROTATION_GRACE_MS'];

/** Used as @nestjs/config's `validate`: returns the typed env or throws one error listing every problem. */
export function validateDemoEnv(raw: Record<string, unknown>): DemoEnv {
  const input: Record<string, unknown> = { ...raw };
  for (const key of NUMERIC) {
    // Number('') is 0 and Number('1e3') is 1000: only plain digit strings count as numbers.
    if (typeof input[key] === 'string') input[key] = /^\d+$/.test(input[key] as string) ? Number(input[key]) : input[key];
  }
  const env = plainToInstance(DemoEnv, input);
  const problems = validateSync(env).flatMap((e) => Object.values(e.constraints ?? {}).slice(0, 1).map((m) => `${m} (got ${JSON.stringify(e.value)})`));
  const strategies = strategiesOf(env);
  if (strategies.includes('jwt') && !env.JWT_SECRET) problems.push('JWT_SECRET is required when SESSION_STRATEGY includes jwt (at least 32 bytes)');
  problems.push(...redisProblems(env));
  if (problems.length) throw new Error(`Invalid environment:\n${problems.join('\n')}`);
  return env;
}

export function strategiesOf(env: DemoEnv): SessionStrategyName[] {
  return (env.SESSION_STRATEGY ?? 'session-id').split(',') as SessionStrategyName[];
}

/** Reads the validated environment back from @nestjs/config's ConfigService. */
export function demoEnvFrom(config: ConfigService<DemoEnv, true>): DemoEnv {
  return Object.fromEntries(ENV_KEYS.map((key) => [key, config.get(key, { infer: true })])) as DemoEnv;
}

/** Maps the demo's environment to the library's options. */
export function sessionOptionsFrom(env: DemoEnv): SessionModuleOptions {
  const strategies = strategiesOf(env);
  return {
    ...storeOptionsFrom(env),
    strategy: strategies,
    ttl: { idle: env.SESSION_IDLE_TTL, absolute: env.SESSION_ABSOLUTE_TTL },
    maxSessionsPerUser: env.SESSION_MAX_PER_USER,
    maxDataBytes: env.SESSION_MAX_DATA_BYTES ?? 65536,
    cookie: { secure: env.COOKIE_SECURE !== 'false' },
    keyPrefix: env.SESSION_KEY_PREFIX,
    rotationGraceMs: env.SESSION_ROTATION_GRACE_MS,
    commit: (env.SESSION_COMMIT ?? 'auto') as SessionCommitMode,
    guard: 'global',
    ...(strategies.includes('jwt')
      ? {
          jwt: {
            secret: env.JWT_SECRET,
            algorithms: ['HS256'],
            issuer: env.JWT_ISSUER ?? 'nestjs-redis-session-demo',
            audience: env.JWT_AUDIENCE ?? 'demo',
          },
        }
      : {}),
  };
}
