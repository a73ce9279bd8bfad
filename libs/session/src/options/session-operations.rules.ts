import { describeValue } from './describe-value.js';
import { isOptionObject as isObject, unknownKeys, type RawOptions as Raw } from './option-shape.js';

/** Checks `csrf`, `expiryEvents` and `metrics`; every problem with its option path. */
export function checkOperationsOptions(options: Raw): string[] {
  return [...checkCsrf(options.csrf), ...checkExpiryEvents(options.expiryEvents), ...checkMetrics(options.metrics)];
}

/** `https://app.example.com[:port]`: what browsers send in `Origin` (no path, no trailing slash). */
export function isOrigin(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

function checkCsrf(csrf: unknown): string[] {
  if (csrf === undefined || csrf === false) return [];
  if (!isObject(csrf)) return [`csrf must be an object { enabled, trustedOrigins } or false (got ${describeValue('csrf', csrf)})`];
  const problems = unknownKeys('csrf', csrf, ['enabled', 'trustedOrigins']);
  if (csrf.enabled !== undefined && typeof csrf.enabled !== 'boolean') {
    problems.push(`csrf.enabled must be true or false (got ${describeValue('csrf.enabled', csrf.enabled)})`);
  }
  const origins = csrf.trustedOrigins;
  if (origins !== undefined) {
    if (!Array.isArray(origins)) {
      problems.push(`csrf.trustedOrigins must be an array of origins (got ${describeValue('csrf.trustedOrigins', origins)})`);
    } else {
      origins.forEach((origin, i) => {
        if (!isOrigin(origin)) {
          problems.push(
            `csrf.trustedOrigins[${i}] must be an origin such as "https://app.example.com" ` +
              `(lower-case scheme://host[:port], no path) (got ${describeValue('origin', origin)})`,
          );
        }
      });
    }
  }
  return problems;
}

const EXPIRY_LIMITS = { intervalSeconds: [1, 3600], batchSize: [1, 10_000], shards: [1, 1024] } as const;

function checkExpiryEvents(expiry: unknown): string[] {
  if (expiry === undefined || typeof expiry === 'boolean') return [];
  if (!isObject(expiry)) {
    return [`expiryEvents must be true, false or { intervalSeconds, batchSize, shards } (got ${describeValue('expiryEvents', expiry)})`];
  }
  const problems = unknownKeys('expiryEvents', expiry, Object.keys(EXPIRY_LIMITS));
  for (const [key, [min, max]] of Object.entries(EXPIRY_LIMITS)) {
    const value = expiry[key];
    if (value !== undefined && !(Number.isInteger(value) && (value as number) >= min && (value as number) <= max)) {
      problems.push(`expiryEvents.${key} must be an integer from ${min} to ${max} (got ${describeValue(key, value)})`);
    }
  }
  return problems;
}

function checkMetrics(metrics: unknown): string[] {
  if (metrics === undefined || metrics === false) return [];
  if (!isObject(metrics)) return [`metrics must be { meterProvider } or false (got ${describeValue('metrics', metrics)})`];
  const problems = unknownKeys('metrics', metrics, ['meterProvider']);
  const provider = metrics.meterProvider as { getMeter?: unknown } | undefined;
  if (provider !== undefined && typeof provider?.getMeter !== 'function') {
    problems.push('metrics.meterProvider must be an OpenTelemetry MeterProvider (with getMeter())');
  }
  return problems;
}
