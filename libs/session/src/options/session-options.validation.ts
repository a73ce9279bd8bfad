import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  type ValidationError,
} from 'class-validator';
import { SessionConfigError } from '../session.errors.js';
import { describeValue } from './describe-value.js';
import { checkDurability, checkJwtOptions, checkRedisOptions, checkStrategies, checkCookieSafety } from './session-options.rules.js';
import { isOptionObject, unknownKeys } from './option-shape.js';
import { defaultIdleSeconds } from './session-options.defaults.js';
import { checkOperationsOptions } from './session-operations.rules.js';

const POSITIVE_INT = { message: 'must be a positive integer' };
const TEXT = { message: 'must be a string' };
const FLAG = { message: 'must be true or false' };
const GRACE = { message: 'must be an integer from 0 (off) to 60000 ms' };
const NON_EMPTY = { message: 'must be a non-empty string' };

class TtlDto {
  @IsOptional() @IsInt(POSITIVE_INT) @Min(1, POSITIVE_INT) idle?: number;
  @IsOptional() @IsInt(POSITIVE_INT) @Min(1, POSITIVE_INT) absolute?: number;
}

class CookieDto {
  @IsOptional() @IsString(TEXT) @Matches(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/, { message: 'must be a cookie name token' })
  name?: string;
  @IsOptional() @IsString(TEXT) @Matches(/^\.?[A-Za-z0-9.-]{1,253}$/, { message: 'must be a domain name' })
  domain?: string;
  @IsOptional() @IsString(TEXT) @Matches(/^\/[\x21-\x3a\x3c-\x7e]*$/, { message: 'must be a path starting with /' })
  path?: string;
  @IsOptional() @IsIn(['lax', 'strict', 'none'], { message: "must be 'lax', 'strict' or 'none'" })
  sameSite?: string;
  @IsOptional() @IsBoolean(FLAG) secure?: boolean;
  @IsOptional() @IsBoolean(FLAG) httpOnly?: boolean;
  @IsOptional() @IsInt(POSITIVE_INT) @Min(1, POSITIVE_INT) maxAge?: number;
}

class JwtDto {
  // jsonwebtoken skips the iss and aud checks for an empty string: refuse it rather than check nothing.
  @IsOptional() @IsString(TEXT) @MinLength(1, NON_EMPTY) issuer?: string;
  @IsOptional() @IsString(TEXT) @MinLength(1, NON_EMPTY) audience?: string;
  @IsOptional() @IsInt(POSITIVE_INT) @Min(1, POSITIVE_INT) expiresIn?: number;
  @IsOptional() @IsIn(['bearer', 'cookie'], { message: "must be 'bearer' or 'cookie'" }) transport?: string;
}

class CacheDto {
  @IsOptional() @IsInt(POSITIVE_INT) @Min(1, POSITIVE_INT) @Max(10_000_000, { message: 'must be at most 10000000' })
  maxEntries?: number;
  @IsOptional() @IsInt(POSITIVE_INT) @Min(1, POSITIVE_INT) @Max(24 * 3600 * 1000, { message: 'must be at most 86400000 (one day)' })
  ttlMs?: number;
}

class SessionOptionsDto {
  @IsOptional() @IsIn(['redis', 'memory'], { message: "must be 'redis' or 'memory'" }) store?: string;
  @IsOptional() @IsInt(POSITIVE_INT) @Min(1, POSITIVE_INT) touchAfter?: number;
  @IsOptional() @IsString(TEXT) @Matches(/^[^{}\s]{0,64}$/, { message: 'must be at most 64 characters without braces or spaces (braces are Cluster hash tags)' })
  keyPrefix?: string;
  @IsOptional() @IsString(TEXT) @Matches(/^[a-z0-9-]{1,64}$/, { message: 'must be a lower-case header name' })
  header?: string;
  @IsOptional() @IsInt(POSITIVE_INT) @Min(256, { message: 'must be an integer of at least 256' }) @Max(16 * 1024 * 1024, { message: 'must be at most 16 MiB' })
  maxDataBytes?: number;
  @IsOptional() @IsInt(POSITIVE_INT) @Min(1, POSITIVE_INT) maxSessionsPerUser?: number;
  @IsOptional() @IsIn(['global', 'manual'], { message: "must be 'global' or 'manual'" }) guard?: string;
  @IsOptional() @IsIn(['auto', 'interceptor', 'on-send'], { message: "must be 'auto', 'interceptor' or 'on-send'" }) commit?: string;
  @IsOptional() @IsBoolean(FLAG) batchWrites?: boolean;
  @IsOptional() @IsInt(GRACE) @Min(0, GRACE) @Max(60_000, GRACE) rotationGraceMs?: number;
}

function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const messages = Object.values(error.constraints ?? {});
    const own = messages.length ? [`${path} ${messages[0]} (got ${describeValue(path, error.value)})`] : [];
    return [...own, ...flatten(error.children ?? [], path)];
  });
}

const DTO_FIELDS = new Set(['store', 'touchAfter', 'keyPrefix', 'header', 'maxDataBytes', 'maxSessionsPerUser', 'guard', 'commit', 'batchWrites', 'rotationGraceMs']);

/** Checks the raw options field by field, then the rules that span several fields. */
export function collectOptionProblems(raw: unknown): string[] {
  if (raw === null || typeof raw !== 'object') return [`options must be an object (got ${describeValue('', raw)})`];
  const options = raw as Record<string, unknown>;
  // Only plain fields go through class-transformer: redis.client is a live ioredis instance.
  const plain = Object.fromEntries(Object.entries(options).filter(([key]) => DTO_FIELDS.has(key)));
  const dto = plainToInstance(SessionOptionsDto, plain);
  const problems = [
    ...checkNested('ttl', options.ttl, TtlDto, ['idle', 'absolute'], 'an object { idle?, absolute? }'),
    ...flatten(validateSync(dto, { forbidUnknownValues: false })),
  ];
  if (options.cookie !== false) {
    problems.push(...checkNested('cookie', options.cookie, CookieDto, COOKIE_KEYS, 'an object or false'));
  }
  if (options.jwt !== undefined && !isOptionObject(options.jwt)) {
    // Not echoed: a string here is most likely the secret itself, put one level too high.
    problems.push(`jwt must be an object { secret | keys, ... } (got ${kindOf(options.jwt)})`);
  } else if (options.jwt !== undefined) {
    // Only the plain fields: keys and secrets are checked by checkJwtOptions, never echoed.
    const { issuer, audience, expiresIn, transport } = options.jwt;
    problems.push(...flatten(validateSync(plainToInstance(JwtDto, { issuer, audience, expiresIn, transport })), 'jwt'));
  }
  problems.push(...checkCache(options));
  return [
    ...problems,
    ...checkStrategies(options),
    ...checkRedisOptions(options),
    ...checkJwtOptions(options),
    ...checkCookieSafety(options),
    ...checkDurability(options),
    ...checkTtlOrder(options),
    ...checkOperationsOptions(options),
  ];
}

function checkCache(options: Record<string, unknown>): string[] {
  const cache = options.cache;
  if (cache === undefined || cache === false) return [];
  const problems = checkNested('cache', cache, CacheDto, ['maxEntries', 'ttlMs'], 'an object { maxEntries, ttlMs } or false');
  if (!isOptionObject(cache)) return problems;
  if (options.store === 'memory') problems.push("cache only applies to store 'redis' (the memory store is in-process already)");
  const redis = options.redis as Record<string, unknown> | undefined;
  if (redis && typeof redis === 'object' && redis.cluster !== undefined) problems.push(CACHE_ON_CLUSTER);
  return problems;
}

/** Tracking is per node: one invalidation link cannot cover a Cluster, so the cache is refused. */
export const CACHE_ON_CLUSTER =
  'cache is not supported on Redis Cluster (CLIENT TRACKING is per node, so invalidations from other masters ' +
  'would be missed and stale sessions served); remove the cache option or use a standalone/Sentinel Redis';

const COOKIE_KEYS = ['name', 'domain', 'path', 'sameSite', 'secure', 'httpOnly', 'maxAge'];

/** An optional nested option object: its type, its fields, and no key it does not know. */
function checkNested(path: string, value: unknown, dto: new () => object, known: readonly string[], shape: string): string[] {
  if (value === undefined) return [];
  if (!isOptionObject(value)) return [`${path} must be ${shape} (got ${describeValue(path, value)})`];
  return [...flatten(validateSync(plainToInstance(dto, value)), path), ...unknownKeys(path, value, known)];
}

function checkTtlOrder(options: Record<string, unknown>): string[] {
  const ttl = isOptionObject(options.ttl) ? options.ttl : {};
  const problems: string[] = [];
  if (typeof ttl.idle === 'number' && typeof ttl.absolute === 'number' && ttl.idle > ttl.absolute) {
    problems.push(`ttl.idle must not exceed ttl.absolute (got idle ${ttl.idle} > absolute ${ttl.absolute})`);
  }
  // The idle expiry only slides on a read once touchAfter has passed since the last touch: at or
  // above ttl.idle no read ever comes in time, and a session that is only read expires in use.
  const idle = ttl.idle !== undefined ? ttl.idle : defaultIdleSeconds(isPositiveInteger(ttl.absolute) ? ttl.absolute : undefined);
  // Only between valid values: an invalid one has its own message already.
  if (isPositiveInteger(idle) && isPositiveInteger(options.touchAfter) && options.touchAfter >= idle) {
    problems.push(`touchAfter must be below ttl.idle (got touchAfter ${options.touchAfter} >= idle ${idle}): a session that is only read would expire while in use`);
  }
  return problems;
}

const isPositiveInteger = (value: unknown): value is number => Number.isInteger(value) && (value as number) > 0;

/** Throws one SessionConfigError that lists every problem, each with its option path. */
export function assertValidOptions(raw: unknown): void {
  const problems = collectOptionProblems(raw);
  if (problems.length) throw new SessionConfigError(problems);
}

const kindOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`);
