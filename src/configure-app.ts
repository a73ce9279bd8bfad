import { ValidationPipe } from '@nestjs/common';

/** Pipes and settings shared by the real server (main.ts) and the e2e tests. */
export function configureApp(app: { useGlobalPipes(...pipes: ValidationPipe[]): unknown }): void {
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
}
