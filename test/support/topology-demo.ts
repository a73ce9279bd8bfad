/**
 * E2E helper: the demo app (src/) on any Redis topology.
 *
 * The demo reads Redis only from REDIS_URL; Sentinel and Cluster (and extra library options such as
 * `durability`) are given to it by overriding the SessionModule options provider. The options are
 * otherwise exactly the demo's own (`sessionOptionsFrom(validateDemoEnv(env))`), so the app under
 * test is the demo with another `redis` option, nothing else.
 */
import { ConsoleLogger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { SessionModuleOptions } from '../../libs/session/src/options/session-options.interface.js';
import { SESSION_MODULE_OPTIONS } from '../../libs/session/src/session.module-definition.js';
import { AppModule } from '../../src/app.module.js';
import { sessionOptionsFrom, validateDemoEnv } from '../../src/config/demo-env.js';
import { demoEnv, listenDemo, type DemoApp, type DemoEnv, type StrategyName } from './demo-app.js';
import type { TopologyRedisOptions } from './redis-topology.js';

export interface TopologyDemoOptions {
  /** Extra demo env variables. */
  env?: DemoEnv;
  /** Library options merged over the demo's (after `redis`). */
  session?: Partial<SessionModuleOptions>;
  /** Nest log levels; errors and warnings by default. */
  logLevels?: Array<'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal'>;
}

/** Boots the demo against `redis` (any topology) and listens on a free loopback port. */
export async function startDemoOn(
  redis: TopologyRedisOptions | SessionModuleOptions['redis'],
  strategy: StrategyName,
  label: string,
  options: TopologyDemoOptions = {},
): Promise<DemoApp> {
  // REDIS_URL only matters for the demo's own validation; the override below supplies `redis`.
  const env = demoEnv('redis://127.0.0.1:1', strategy, label, options.env ?? {});
  const sessionOptions: SessionModuleOptions = {
    ...sessionOptionsFrom(validateDemoEnv(env)),
    store: 'redis',
    redis: redis as SessionModuleOptions['redis'],
    ...options.session,
  };
  const logger = new ConsoleLogger('e2e', { logLevels: options.logLevels ?? ['error', 'warn'] });
  const before = new Set(Object.keys(process.env));
  let moduleRef;
  try {
    moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(env)] })
      .overrideProvider(SESSION_MODULE_OPTIONS)
      .useValue(sessionOptions)
      .setLogger(logger)
      .compile();
  } finally {
    for (const key of Object.keys(process.env)) if (!before.has(key)) delete process.env[key];
  }
  return listenDemo(moduleRef.createNestApplication({ logger }), env, strategy, 'topology-client');
}
