import { Body, Controller, HttpCode, Inject, Post, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AllowAnonymous, Session } from '@app/session';
import { IsString, Matches, MaxLength } from 'class-validator';
import { strategiesOf, type DemoEnv } from '../config/demo-env.js';
import type { DemoSession } from '../demo-session.js';

export class LoginDto {
  @Matches(/^[A-Za-z0-9]{3,32}$/, { message: 'username must be 3-32 ASCII letters or digits' })
  username!: string;
  @IsString() @MaxLength(128) password!: string;
}

const DEMO_PASSWORD = 'demo-password';

@Controller('auth')
export class AuthController {
  private readonly returnsToken: boolean;

  constructor(@Inject(ConfigService) config: ConfigService<DemoEnv, true>) {
    // The first strategy issues credentials; only a bearer JWT belongs in a response body.
    this.returnsToken = strategiesOf({ SESSION_STRATEGY: config.get('SESSION_STRATEGY', { infer: true }) })[0] === 'jwt';
  }

  @AllowAnonymous()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: LoginDto, @Session() session: DemoSession) {
    if (body.password !== DEMO_PASSWORD) throw new UnauthorizedException('Wrong username or password');
    await session.logIn(body.username);
    session.set('username', body.username);
    return this.returnsToken ? { userId: body.username, token: session.token } : { userId: body.username };
  }

  @AllowAnonymous()
  @Post('logout')
  @HttpCode(204)
  logout(@Session() session: DemoSession): void {
    session.destroy();
  }
}
