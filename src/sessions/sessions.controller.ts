import { Controller, Delete, Get, HttpCode, NotFoundException, Param } from '@nestjs/common';
import { Session, SessionService } from '@app/session';
import { requireUser, type DemoSession } from '../demo-session.js';

/** "Your sessions": list them, sign out one, or sign out everywhere else. */
@Controller('sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionService) {}

  @Get()
  async list(@Session() session: DemoSession) {
    const userId = requireUser(session);
    const all = await this.sessions.listForUser(userId);
    return {
      sessions: all.map((s) => ({
        handle: s.handle,
        createdAt: new Date(s.createdAt).toISOString(),
        lastSeenAt: new Date(s.lastAccessAt).toISOString(),
        userAgent: s.userAgent,
        current: s.handle === session.id,
      })),
    };
  }

  @Delete(':handle')
  @HttpCode(204)
  async revoke(@Param('handle') handle: string, @Session() session: DemoSession): Promise<void> {
    const userId = requireUser(session);
    if (!(await this.sessions.destroyById(userId, handle))) throw new NotFoundException('No such session');
  }

  @Delete()
  @HttpCode(204)
  async revokeOthers(@Session() session: DemoSession): Promise<void> {
    await this.sessions.destroyAllForUser(requireUser(session), { except: session.id });
  }
}
