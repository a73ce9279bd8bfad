/**
 * OpenTelemetry metrics (@opentelemetry/api; the SDK only in this test, with an in-memory reader):
 * session loads, creations, revocations, store errors and the store latency histogram, from a real
 * app on a real Redis, through `metrics.meterProvider`, through the global provider, and not at
 * all with `metrics: false`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, Post, type INestApplication } from '@nestjs/common';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AllowAnonymous, SESSION_METER_NAME, Session, SessionModule, SessionService, type SessionModuleOptions, type UserSession } from '@app/session';
import { cookiesNamed, sleep, uniquePrefix } from './support/demo-app.js';
import { startRedisServer, type RedisServerHandle } from './support/redis-server.js';

/** Collects on demand (no export, no timer). */
class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

type Point = { attributes: Record<string, unknown>; value: unknown };

/** name -> data points of the library's meter. */
async function read(reader: MetricReader): Promise<Map<string, Point[]>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, Point[]>();
  for (const scope of resourceMetrics.scopeMetrics.filter((s) => s.scope.name === SESSION_METER_NAME)) {
    for (const metric of scope.metrics) {
      const points = (metric.dataPoints as Array<DataPoint<unknown>>).map((p) => ({ attributes: { ...p.attributes }, value: p.value }));
      out.set(metric.descriptor.name, points);
    }
  }
  return out;
}

const sum = (points: Point[] | undefined, attributes: Record<string, unknown>): number =>
  (points ?? [])
    .filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
    .reduce((total, p) => total + Number(p.value), 0);

const histogramCount = (points: Point[] | undefined, attributes: Record<string, unknown>): number =>
  (points ?? [])
    .filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
    .reduce((total, p) => total + (p.value as Histogram).count, 0);

@Controller()
class MetricsController {
  @AllowAnonymous()
  @Post('login')
  async login(@Session() session: UserSession) {
    await session.logIn('mia');
    return {};
  }

  @Get('me')
  me(@Session() session: UserSession) {
    return { userId: session.userId };
  }

  @Post('logout')
  logout(@Session() session: UserSession) {
    session.destroy();
  }
}

const apps: INestApplication[] = [];

async function start(options: SessionModuleOptions): Promise<INestApplication> {
  @Module({
    imports: [SessionModule.forRoot({ cookie: { secure: false }, guard: 'global', ...options })],
    controllers: [MetricsController],
  })
  class MetricsModule {}
  const moduleRef = await Test.createTestingModule({ imports: [MetricsModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  apps.push(app);
  return app;
}

/** login, /me twice, /me with a dead cookie, logout: returns the session cookie. */
async function traffic(app: INestApplication): Promise<string> {
  const http = app.getHttpServer();
  const login = await request(http).post('/login');
  const cookie = cookiesNamed(login, 'sid')[0].value;
  expect((await request(http).get('/me').set('Cookie', `sid=${cookie}`)).status).toBe(200);
  expect((await request(http).get('/me').set('Cookie', `sid=${cookie}`)).status).toBe(200);
  expect((await request(http).get('/me').set('Cookie', `sid=${'D'.repeat(32)}`)).status).toBe(401);
  expect((await request(http).post('/logout').set('Cookie', `sid=${cookie}`)).status).toBe(201);
  return cookie;
}

let server: RedisServerHandle;

beforeAll(async () => {
  server = await startRedisServer();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

afterAll(async () => {
  await server?.stop();
});

describe('session metrics', () => {
  it('counts loads, creations and revocations and times every store call (metrics.meterProvider)', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const app = await start({ redis: { url: server.url }, keyPrefix: uniquePrefix('metrics'), metrics: { meterProvider } });
    await traffic(app);

    const m = await read(reader);
    expect(sum(m.get('session.creations'), { 'session.strategy': 'session-id' })).toBe(1);
    expect(sum(m.get('session.loads'), { 'session.load.result': 'found' })).toBe(3); // /me x2 + logout
    expect(sum(m.get('session.loads'), { 'session.load.result': 'absent' })).toBe(1);
    expect(sum(m.get('session.revocations'), { 'session.reason': 'logout' })).toBe(1);
    expect(m.get('session.store.errors') ?? []).toEqual([]);
    const durations = m.get('session.store.duration');
    expect(histogramCount(durations, { 'session.store.operation': 'find' })).toBe(4);
    expect(histogramCount(durations, { 'session.store.operation': 'create' })).toBe(1);
    expect(histogramCount(durations, { 'session.store.operation': 'destroy' })).toBe(1);
    for (const point of durations ?? []) {
      const h = point.value as Histogram;
      expect(h.min).toBeGreaterThanOrEqual(0);
      expect(h.max).toBeLessThan(5); // seconds
    }
    await meterProvider.shutdown();
  });

  it('counts store errors, with their operation, while Redis is down', async () => {
    const own = await startRedisServer();
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const app = await start({ redis: { url: own.url }, keyPrefix: uniquePrefix('errors'), metrics: { meterProvider } });
    const http = app.getHttpServer();
    const cookie = cookiesNamed(await request(http).post('/login'), 'sid')[0].value;
    await own.kill9();
    expect((await request(http).get('/me').set('Cookie', `sid=${cookie}`)).status).toBe(503);

    const m = await read(reader);
    const failure = { 'session.store.operation': 'find', 'error.type': 'SessionStoreUnavailableError' };
    expect(sum(m.get('session.store.errors'), failure)).toBe(1);
    expect(histogramCount(m.get('session.store.duration'), failure)).toBe(1);
    await meterProvider.shutdown();
    // Back up (and reconnected) before the app closes: closing a client whose server is gone leaves
    // ioredis timers behind that keep Jest alive.
    await own.restart();
    const sessions = app.get(SessionService);
    for (const deadline = Date.now() + 8000; Date.now() < deadline && !(await sessions.isHealthy(500)); ) await sleep(100);
    await Promise.all(apps.splice(0).map((a) => a.close()));
    await own.stop();
  });

  it('records through the global MeterProvider by default, and not at all with metrics: false', async () => {
    const reader = new TestReader();
    const global = new MeterProvider({ readers: [reader] });
    expect(metrics.setGlobalMeterProvider(global)).toBe(true);
    try {
      await traffic(await start({ store: 'memory' }));
      const before = await read(reader);
      expect(sum(before.get('session.creations'), {})).toBe(1);
      expect(sum(before.get('session.loads'), {})).toBe(4);

      await traffic(await start({ store: 'memory', metrics: false }));
      const after = await read(reader);
      expect(sum(after.get('session.creations'), {})).toBe(1);
      expect(sum(after.get('session.loads'), {})).toBe(4);
    } finally {
      metrics.disable();
      await global.shutdown();
    }
  });
});
