import { createNoopMeter, metrics, type Counter, type Histogram } from '@opentelemetry/api';
import type { ResolvedMetrics } from '../options/resolve-operations.js';

/** The meter (instrumentation scope) name the library records under. */
export const SESSION_METER_NAME = 'nestjs-redis-session';

const NOOP_METER_CLASS = createNoopMeter().constructor as new () => object;

/** Instrument names; attributes are listed in the README ("Metrics"). */
export const SESSION_METRIC_NAMES = {
  loads: 'session.loads',
  creations: 'session.creations',
  revocations: 'session.revocations',
  expirations: 'session.expirations',
  storeErrors: 'session.store.errors',
  storeDuration: 'session.store.duration',
} as const;

/** Seconds: most store calls take well under a millisecond to a few; the command timeout is 1 s. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Instruments {
  loads: Counter;
  creations: Counter;
  revocations: Counter;
  expirations: Counter;
  storeErrors: Counter;
  storeDuration: Histogram;
}

/**
 * The library's OpenTelemetry instruments, created once at module start-up from the configured
 * (or global) MeterProvider. With no SDK installed the API hands out no-op instruments; with
 * `metrics: false` nothing is created at all.
 */
export class SessionMetrics {
  private readonly instruments: Instruments | null;
  /**
   * False when the meter is the API's no-op one (no SDK registered when the module started): the
   * instruments are then fixed no-ops, so timing store calls for them would be wasted work.
   */
  readonly recording: boolean;

  constructor(settings: ResolvedMetrics | null) {
    if (!settings) {
      this.instruments = null;
      this.recording = false;
      return;
    }
    const meter = (settings.meterProvider ?? metrics.getMeterProvider()).getMeter(SESSION_METER_NAME);
    this.recording = !(meter instanceof NOOP_METER_CLASS);
    const { loads, creations, revocations, expirations, storeErrors, storeDuration } = SESSION_METRIC_NAMES;
    this.instruments = {
      loads: meter.createCounter(loads, { description: 'Session lookups by credential', unit: '{load}' }),
      creations: meter.createCounter(creations, { description: 'Sessions created (guest, sign-in or SessionService.create)', unit: '{session}' }),
      revocations: meter.createCounter(revocations, { description: 'Sessions ended before their deadline (logout, revocation, eviction)', unit: '{session}' }),
      expirations: meter.createCounter(expirations, { description: 'Sessions found expired by the expiry sweeper', unit: '{session}' }),
      storeErrors: meter.createCounter(storeErrors, { description: 'Session store calls that failed (store unavailable)', unit: '{error}' }),
      storeDuration: meter.createHistogram(storeDuration, {
        description: 'Duration of session store calls',
        unit: 's',
        advice: { explicitBucketBoundaries: DURATION_BUCKETS },
      }),
    };
  }

  get enabled(): boolean {
    return this.instruments !== null;
  }

  load(found: boolean): void {
    this.instruments?.loads.add(1, { 'session.load.result': found ? 'found' : 'absent' });
  }

  created(strategy: string): void {
    this.instruments?.creations.add(1, { 'session.strategy': strategy });
  }

  revoked(reason: string, count = 1): void {
    if (count > 0) this.instruments?.revocations.add(count, { 'session.reason': reason });
  }

  expired(reason: string): void {
    this.instruments?.expirations.add(1, { 'session.reason': reason });
  }

  /** One store call: its duration, and an error count when it failed because the store could not answer. */
  storeCall(operation: string, seconds: number, failure: string | null): void {
    if (!this.instruments) return;
    this.instruments.storeDuration.record(seconds, {
      'session.store.operation': operation,
      ...(failure ? { 'error.type': failure } : {}),
    });
    if (failure) this.instruments.storeErrors.add(1, { 'session.store.operation': operation, 'error.type': failure });
  }
}
