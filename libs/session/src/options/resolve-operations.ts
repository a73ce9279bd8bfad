import type { MeterProvider } from '@opentelemetry/api';
import type { ExpiryTrackingSettings } from '../store/session-expiry.interface.js';
import type { SessionModuleOptions } from './session-options.interface.js';

/** The CSRF check after defaults: on, with the extra origins it trusts. */
export interface ResolvedCsrf {
  readonly trustedOrigins: ReadonlySet<string>;
}

/** Metrics after defaults: null provider means the global one, looked up at start-up. */
export interface ResolvedMetrics {
  readonly meterProvider: MeterProvider | null;
}

export interface ResolvedOperations {
  /** Null when the check is off. */
  readonly csrf: ResolvedCsrf | null;
  /** Null when expiry events are off. */
  readonly expiryEvents: ExpiryTrackingSettings | null;
  /** Null when metrics are off. */
  readonly metrics: ResolvedMetrics | null;
}

export const OPERATIONS_DEFAULTS = { expiryIntervalSeconds: 10, expiryBatchSize: 500 } as const;

/** Defaults for `csrf`, `expiryEvents` and `metrics` (the options are already validated). */
export function resolveOperations(options: SessionModuleOptions, usesCookies: boolean): ResolvedOperations {
  const csrf = options.csrf === false ? { enabled: false } : (options.csrf ?? {});
  const expiry = options.expiryEvents === true ? {} : options.expiryEvents || null;
  return {
    csrf: (csrf.enabled ?? usesCookies) ? { trustedOrigins: new Set(csrf.trustedOrigins ?? []) } : null,
    expiryEvents: expiry && {
      intervalMs: (expiry.intervalSeconds ?? OPERATIONS_DEFAULTS.expiryIntervalSeconds) * 1000,
      batchSize: expiry.batchSize ?? OPERATIONS_DEFAULTS.expiryBatchSize,
      shards: expiry.shards ?? null,
    },
    metrics: options.metrics === false ? null : { meterProvider: options.metrics?.meterProvider ?? null },
  };
}
