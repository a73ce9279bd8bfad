import { Controller, Get } from '@nestjs/common';
import { Session } from '@app/session';
import { requireUser, type DemoSession } from '../demo-session.js';

@Controller('me')
export class MeController {
  @Get()
  me(@Session() session: DemoSession) {
    const userId = requireUser(session);
    return {
      userId,
      username: session.get('username') ?? userId,
      createdAt: session.createdAt.toISOString(),
      expiresAt: session.expiresAt.toISOString(),
    };
  }
}
