import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { SessionModule } from '@app/session';
import { AuthController } from './auth/auth.controller.js';
import { MeController } from './auth/me.controller.js';
import { CartController } from './cart/cart.controller.js';
import { demoEnvFrom, sessionOptionsFrom, validateDemoEnv, type DemoEnv } from './config/demo-env.js';
import { describeStore } from './config/redis-env.js';
import { HealthController } from './health/health.controller.js';
import { ProfileController } from './profile/profile.controller.js';
import { SessionsController } from './sessions/sessions.controller.js';
import { WebController } from './web/web.controller.js';

/** The demo app. `env` defaults to process.env; tests pass their own. */
@Module({})
export class AppModule {
  static forRoot(env: Record<string, string | undefined> = process.env): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // A failed check is a 503 for the caller; terminus' own error log would repeat it on every probe.
        TerminusModule.forRoot({ logger: false }),
        // skipProcessEnv: ConfigService answers from the validated env only, so apps built from
        // different env objects (tests) never read each other's values through process.env.
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, skipProcessEnv: true, validate: () => ({ ...validateDemoEnv(env) }) }),
        SessionModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<DemoEnv, true>) => sessionOptionsFrom(demoEnvFrom(config)),
        }),
      ],
      controllers: [AuthController, MeController, CartController, ProfileController, SessionsController, HealthController, WebController],
    };
  }
}

export const logStoreMode = (env: Record<string, string | undefined>): void => {
  const logger = new Logger('Demo');
  const store = describeStore(env);
  if (store) logger.log(`Sessions are stored in ${store}`);
  else logger.warn('REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES are unset: sessions are kept in memory (single process only, lost on restart)');
};
