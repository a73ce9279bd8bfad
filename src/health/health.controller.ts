import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { AllowAnonymous, SessionHealthIndicator } from '@app/session';

/** 200 when the session store answers PING within 1 s, 503 when not (terminus' standard body). */
@AllowAnonymous()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly session: SessionHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.session.pingCheck('session', { timeout: 1000 })]);
  }
}
