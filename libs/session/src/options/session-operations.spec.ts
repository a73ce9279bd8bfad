// See options/session-options.load.spec.ts: the options module needs the polyfill loaded first.
import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { SessionConfigError } from '../session.errors.js';
import { resolveSessionOptions } from './resolved-options.js';
import type { SessionModuleOptions } from './session-options.interface.js';

const SECRET = 'x'.repeat(40);

function problems(options: unknown): string[] {
  try {
    resolveSessionOptions(options as SessionModuleOptions);
  } catch (error) {
    if (error instanceof SessionConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a SessionConfigError');
}

describe('csrf option', () => {
  it('is on for cookie transport and off for bearer-only jwt, unless set', () => {
    expect(resolveSessionOptions({ store: 'memory' }).csrf).toEqual({ trustedOrigins: new Set() });
    expect(resolveSessionOptions({ store: 'memory', strategy: 'hashed' }).csrf).not.toBeNull();
    const jwt = { store: 'memory', strategy: 'jwt', jwt: { secret: SECRET } } as const;
    expect(resolveSessionOptions(jwt).csrf).toBeNull();
    expect(resolveSessionOptions({ ...jwt, jwt: { secret: SECRET, transport: 'cookie' } }).csrf).not.toBeNull();
    expect(resolveSessionOptions({ ...jwt, csrf: { enabled: true } }).csrf).not.toBeNull();
    expect(resolveSessionOptions({ store: 'memory', cookie: false, header: 'x-session-id' }).csrf).toBeNull();
    expect(resolveSessionOptions({ store: 'memory', csrf: false }).csrf).toBeNull();
    expect(resolveSessionOptions({ store: 'memory', csrf: { enabled: false } }).csrf).toBeNull();
  });

  it('keeps the trusted origins', () => {
    const resolved = resolveSessionOptions({ store: 'memory', csrf: { trustedOrigins: ['https://a.example', 'http://localhost:5173'] } });
    expect(resolved.csrf?.trustedOrigins).toEqual(new Set(['https://a.example', 'http://localhost:5173']));
  });

  it('lists every bad setting with its path', () => {
    expect(problems({ store: 'memory', csrf: { enabled: 'yes', trustedOrigins: ['https://ok.example', 'https://x.example/', 'ftp://x', 'HTTPS://X.EXAMPLE'], extra: 1 } })).toEqual([
      'csrf.extra is not a known option (known: enabled, trustedOrigins)',
      'csrf.enabled must be true or false (got "yes")',
      'csrf.trustedOrigins[1] must be an origin such as "https://app.example.com" (lower-case scheme://host[:port], no path) (got "https://x.example/")',
      'csrf.trustedOrigins[2] must be an origin such as "https://app.example.com" (lower-case scheme://host[:port], no path) (got "ftp://x")',
      'csrf.trustedOrigins[3] must be an origin such as "https://app.example.com" (lower-case scheme://host[:port], no path) (got "HTTPS://X.EXAMPLE")',
    ]);
    expect(problems({ store: 'memory', csrf: 'on' })).toEqual(['csrf must be an object { enabled, trustedOrigins } or false (got "on")']);
    expect(problems({ store: 'memory', csrf: { trustedOrigins: 'https://a.example' } })).toEqual([
      'csrf.trustedOrigins must be an array of origins (got "https://a.example")',
    ]);
  });
});

describe('expiryEvents option', () => {
  it('is off by default; true takes the defaults', () => {
    expect(resolveSessionOptions({ store: 'memory' }).expiryEvents).toBeNull();
    expect(resolveSessionOptions({ store: 'memory', expiryEvents: false }).expiryEvents).toBeNull();
    expect(resolveSessionOptions({ store: 'memory', expiryEvents: true }).expiryEvents).toEqual({ intervalMs: 10_000, batchSize: 500, shards: null });
    expect(resolveSessionOptions({ store: 'memory', expiryEvents: { intervalSeconds: 2, batchSize: 50, shards: 4 } }).expiryEvents).toEqual({
      intervalMs: 2000,
      batchSize: 50,
      shards: 4,
    });
  });

  it('lists every bad setting with its path and range', () => {
    expect(problems({ store: 'memory', expiryEvents: { intervalSeconds: 0, batchSize: 1.5, shards: 2000, every: 3 } })).toEqual([
      'expiryEvents.every is not a known option (known: intervalSeconds, batchSize, shards)',
      'expiryEvents.intervalSeconds must be an integer from 1 to 3600 (got 0)',
      'expiryEvents.batchSize must be an integer from 1 to 10000 (got 1.5)',
      'expiryEvents.shards must be an integer from 1 to 1024 (got 2000)',
    ]);
    expect(problems({ store: 'memory', expiryEvents: 'yes' })).toEqual([
      'expiryEvents must be true, false or { intervalSeconds, batchSize, shards } (got "yes")',
    ]);
  });
});

describe('metrics option', () => {
  it('uses the global provider by default, a given one, or none', () => {
    expect(resolveSessionOptions({ store: 'memory' }).metrics).toEqual({ meterProvider: null });
    const meterProvider = new MeterProvider();
    expect(resolveSessionOptions({ store: 'memory', metrics: { meterProvider } }).metrics?.meterProvider).toBe(meterProvider);
    expect(resolveSessionOptions({ store: 'memory', metrics: false }).metrics).toBeNull();
  });

  it('refuses something that is not a MeterProvider', () => {
    expect(problems({ store: 'memory', metrics: { meterProvider: {} } })).toEqual([
      'metrics.meterProvider must be an OpenTelemetry MeterProvider (with getMeter())',
    ]);
    expect(problems({ store: 'memory', metrics: true })).toEqual(['metrics must be { meterProvider } or false (got true)']);
  });
});
