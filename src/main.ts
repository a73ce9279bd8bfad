import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { pathToFileURL } from 'node:url';
import { AppModule, logStoreMode } from './app.module.js';
import { createHttpAdapter } from './http-adapter.js';

/** Pipes and settings shared by the real server and the e2e tests. */
export function configureApp(app: { useGlobalPipes(...pipes: ValidationPipe[]): unknown }): void {
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
}

async function bootstrap(): Promise<void> {
  logStoreMode(process.env);
  // HTTP_ADAPTER=fastify runs the same app on Fastify (default: express).
  const app = await NestFactory.create(AppModule.forRoot(process.env), createHttpAdapter(process.env.HTTP_ADAPTER));
  configureApp(app);
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000));
}

// Only when run as the entry point (node dist/src/main.js), not when imported for configureApp.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void bootstrap();
