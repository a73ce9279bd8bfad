import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { AllowAnonymous, SessionService } from '@app/session';

interface StatusResponse {
  status(code: number): { json(body: unknown): void };
}

@AllowAnonymous()
@Controller('health')
export class HealthController {
  constructor(private readonly sessions: SessionService) {}

  @Get()
  async health(@Res() response: StatusResponse): Promise<void> {
    const up = await this.sessions.isHealthy(1000);
    response
      .status(up ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE)
      .json({ status: up ? 'ok' : 'unavailable', store: up ? 'up' : 'down' });
  }
}
