/**
 * applySessionSecurity: the OpenAPI document declares the security scheme of the configured
 * strategy (cookie apiKey, bearer JWT, or both) and marks each route SessionGuard protects: routes
 * that need a session require a scheme, @AllowAnonymous() routes list it as optional ({}), routes
 * without the guard are left alone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { AllowAnonymous, SessionGuard, SessionModule, applySessionSecurity } from '@app/session';
import { demoEnv, startDemoApp, type DemoApp, type StrategyName } from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

let redis: SuiteRedis;
const started: Array<{ close(): Promise<unknown> }> = [];

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await redis?.stop();
});

function documentOf(app: INestApplication): OpenAPIObject {
  const config = applySessionSecurity(new DocumentBuilder().setTitle('demo').setVersion('1'), app).build();
  return SwaggerModule.createDocument(app, config);
}

async function demo(strategy: string): Promise<DemoApp> {
  const app = await startDemoApp(demoEnv(redis, strategy as StrategyName, 'swagger'));
  started.push(app);
  return app;
}

const COOKIE = { type: 'apiKey', in: 'cookie', name: 'sid', description: expect.any(String) };
const JWT = { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: expect.any(String) };

describe('applySessionSecurity on the demo (guard: global)', () => {
  it('declares the cookie scheme for session-id: required on /me, optional on anonymous routes', async () => {
    const doc = documentOf((await demo('session-id')).app);
    expect(doc.components?.securitySchemes).toEqual({ 'session-cookie': COOKIE });
    expect(doc.paths['/me'].get?.security).toEqual([{ 'session-cookie': [] }]);
    expect(doc.paths['/sessions/{handle}'].delete?.security).toEqual([{ 'session-cookie': [] }]);
    expect(doc.paths['/auth/login'].post?.security).toEqual([{ 'session-cookie': [] }, {}]);
    expect(doc.paths['/cart'].get?.security).toEqual([{ 'session-cookie': [] }, {}]);
    expect(doc.paths['/health'].get?.security).toEqual([{ 'session-cookie': [] }, {}]);
  });

  it('declares a bearer JWT for jwt, and both (either one) for session-id,jwt; a second call does not repeat them', async () => {
    const jwt = documentOf((await demo('jwt')).app);
    expect(jwt.components?.securitySchemes).toEqual({ 'session-jwt': JWT });
    expect(jwt.paths['/me'].get?.security).toEqual([{ 'session-jwt': [] }]);

    const both = await demo('session-id,jwt');
    documentOf(both.app);
    const doc = documentOf(both.app);
    expect(doc.components?.securitySchemes).toEqual({ 'session-cookie': COOKIE, 'session-jwt': JWT });
    expect(doc.paths['/me'].get?.security).toEqual([{ 'session-cookie': [] }, { 'session-jwt': [] }]);
  });
});

@UseGuards(SessionGuard)
@Controller('guarded')
class GuardedController {
  @Get() list() {
    return [];
  }

  @AllowAnonymous() @Get('public') open() {
    return [];
  }
}

@Controller('plain')
class PlainController {
  @Get() list() {
    return [];
  }
}

describe('applySessionSecurity with guard: manual', () => {
  it('marks only the routes behind SessionGuard, and an opaque bearer header', async () => {
    @Module({
      imports: [SessionModule.forRoot({ store: 'memory', cookie: false, header: 'authorization' })],
      controllers: [GuardedController, PlainController],
    })
    class ManualModule {}
    const app = (await Test.createTestingModule({ imports: [ManualModule] }).compile()).createNestApplication({ logger: false });
    await app.init();
    started.push(app);
    const doc = documentOf(app);
    expect(doc.components?.securitySchemes).toEqual({ 'session-bearer': { type: 'http', scheme: 'bearer', description: expect.any(String) } });
    expect(doc.paths['/guarded'].get?.security).toEqual([{ 'session-bearer': [] }]);
    expect(doc.paths['/guarded/public'].get?.security).toEqual([{ 'session-bearer': [] }, {}]);
    expect(doc.paths['/plain'].get?.security).toBeUndefined();
  });
});
