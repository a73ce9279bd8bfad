import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule, logStoreMode } from './app.module.js';
import { configureApp } from './configure-app.js';
import { createHttpAdapter } from './http-adapter.js';

// The entry point only: what tests share with it lives in configure-app.ts, so importing nothing
// from here keeps bootstrap unconditional (nest start runs this file by a path without ".js").
async function bootstrap(): Promise<void> {
  logStoreMode(process.env);
  // HTTP_ADAPTER=fastify runs the same app on Fastify (default: express).
  const app = await NestFactory.create(AppModule.forRoot(process.env), createHttpAdapter(process.env.HTTP_ADAPTER));
  configureApp(app);
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000));
}

void bootstrap();
