import type { Provider } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { SendCommit } from './http/send-commit.js';
import { HandlerCommitBinding } from './handler-commit-binding.js';
import { SessionErrorFilter } from './http/session-error.filter.js';
import type { ResolvedSessionOptions } from './options/resolved-options.js';
import { SessionCommitInterceptor } from './session.interceptor.js';
import { SESSION_RESOLVED_OPTIONS } from './session.internal-constants.js';

/**
 * What each commit mode needs, registered whatever the mode so that `commit` can come from
 * forRootAsync's factory like any other option: the interceptor's factory gives `null` in
 * `'on-send'` mode, and Nest leaves a null global enhancer out. That matters: a global interceptor
 * that merely passes through still makes Nest run every handler of the app through its rxjs chain.
 * SendCommit hooks the HTTP platform only in `'on-send'` mode, and HandlerCommitBinding binds the
 * interceptor to the app's gateways and resolvers only under `'auto'`. The error filter serves both modes:
 * the interceptor maps only what the handler throws, not the library's errors thrown by a guard or
 * a middleware (SessionService during an outage, passport's logIn with a bad user id).
 */
export const COMMIT_PROVIDERS: Provider[] = [
  SessionCommitInterceptor,
  SessionErrorFilter,
  SendCommit,
  HandlerCommitBinding,
  {
    provide: APP_INTERCEPTOR,
    useFactory: (options: ResolvedSessionOptions, interceptor: SessionCommitInterceptor) => (options.commit === 'interceptor' ? interceptor : null),
    inject: [SESSION_RESOLVED_OPTIONS, SessionCommitInterceptor],
  },
  { provide: APP_FILTER, useExisting: SessionErrorFilter },
];
