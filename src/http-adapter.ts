import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

/** The HTTP platforms the demo runs on (`HTTP_ADAPTER`); the library itself needs neither. */
export type DemoHttpAdapterName = 'express' | 'fastify';

/**
 * The platform adapter for `HTTP_ADAPTER` (default express), shared by src/main.ts and the e2e
 * tests so both run the demo the same way.
 *
 * Fastify answers 414 to a route parameter over 100 characters by default; the demo's contract is
 * a 404 for any unknown session handle (however long), as on Express, so the limit is raised.
 */
export function createHttpAdapter(name: string | undefined): ExpressAdapter | FastifyAdapter {
  switch (name ?? 'express') {
    case 'express':
      return new ExpressAdapter();
    case 'fastify':
      return new FastifyAdapter({ routerOptions: { maxParamLength: 4096 } });
    default:
      throw new Error(`Invalid environment:\nHTTP_ADAPTER must be express or fastify (got ${JSON.stringify(name)})`);
  }
}
