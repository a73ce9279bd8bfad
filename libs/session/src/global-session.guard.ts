import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { ResolvedSessionOptions } from './options/resolved-options.js';
import { SESSION_RESOLVED_OPTIONS } from './session.internal-constants.js';
import { SessionGuard } from './session.guard.js';

/**
 * Always registered as APP_GUARD, because with forRootAsync the options are not known when the
 * module graph is built; it applies SessionGuard only when the options say `guard: 'global'`.
 */
@Injectable()
export class GlobalSessionGuard implements CanActivate {
  constructor(
    @Inject(SESSION_RESOLVED_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly guard: SessionGuard,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> | boolean {
    return this.options.guard === 'global' ? this.guard.canActivate(context) : true;
  }
}
