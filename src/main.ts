import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule, logStoreMode } from './app.module.js';

/** Pipes and settings shared by the real server and the e2e tests. */
export function configureApp(app: { useGlobalPipes(...pipes: ValidationPipe[]): unknown }): void {
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
}

async function bootstrap(): Promise<void> {
  logStoreMode(process.env);
  const app = await NestFactory.create(AppModule.forRoot(process.env));
  configureApp(app);
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000));
}

void bootstrap();
