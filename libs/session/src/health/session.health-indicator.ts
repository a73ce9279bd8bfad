import { Injectable } from '@nestjs/common';
import { SessionService } from '../session.service.js';

/**
 * What a check reports, in the shape of `@nestjs/terminus`' `HealthIndicatorResult` (declared
 * here so the library needs no import of terminus: it stays an optional peer).
 */
export type SessionHealthResult<Key extends string = string> = Record<
  Key,
  { status: 'up' } | { status: 'down'; message: string }
>;

/** How long the store may take to answer a health check. */
export interface SessionPingCheckOptions {
  /** Milliseconds. @default 1000 */
  timeout?: number;
}

const DEFAULT_TIMEOUT_MS = 1000;

/**
 * A `@nestjs/terminus` health indicator for the session store: a PING bounded by a timeout, so a
 * hung Redis makes the check fail fast instead of hanging the health endpoint.
 * @example
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.session.pingCheck('session', { timeout: 500 })]); }
 */
@Injectable()
export class SessionHealthIndicator {
  constructor(private readonly sessions: SessionService) {}

  /** `{ [key]: { status: 'up' } }`, or `'down'` with a message (terminus then answers 503). */
  async pingCheck<const Key extends string = 'session'>(
    key: Key = 'session' as Key,
    options: SessionPingCheckOptions = {},
  ): Promise<SessionHealthResult<Key>> {
    const timeout = options.timeout !== undefined && options.timeout > 0 ? options.timeout : DEFAULT_TIMEOUT_MS;
    const up = await this.sessions.isHealthy(timeout);
    const detail = up
      ? { status: 'up' as const }
      : { status: 'down' as const, message: `The session store did not answer PING within ${timeout} ms` };
    return { [key]: detail } as SessionHealthResult<Key>;
  }
}
