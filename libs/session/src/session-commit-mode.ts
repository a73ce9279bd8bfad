import type { Provider } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { SendCommit } from './http/send-commit.js';
import { SessionErrorFilter } from './http/session-error.filter.js';
import { describeValue } from './options/describe-value.js';
import { SessionConfigError } from './session.errors.js';
import { SessionCommitInterceptor } from './session.interceptor.js';
import { SESSION_COMMIT_MODE } from './session.internal-constants.js';

/**
 * Where a request's session changes are saved:
 * - `'interceptor'` (default): a global Nest interceptor, after the handler. Every platform,
 *   GraphQL and gateways; a failed save goes through all of the app's exception filters.
 * - `'on-send'`: just before the response is written (Fastify's `onSend` hook; on Express, its
 *   first `write` or `end`). HTTP routes on Express or Fastify only. No global interceptor, so a
 *   read-only request skips the rxjs chain Nest builds around every handler once any interceptor
 *   is registered; a failed save reaches the app's global exception filters (Nest's error handler)
 *   but not controller- or method-scoped ones, and the library's errors thrown by a handler are
 *   mapped by a global filter (SessionErrorFilter).
 */
export type SessionCommitMode = 'interceptor' | 'on-send';

export const COMMIT_MODES: readonly SessionCommitMode[] = ['interceptor', 'on-send'];

/**
 * The providers a commit mode needs. A module extra (not an option) because it decides which
 * providers exist, and forRootAsync's options are only known after the providers are.
 */
export function commitModeProviders(commit: unknown): Provider[] {
  if (commit === 'on-send') {
    return [{ provide: SESSION_COMMIT_MODE, useValue: commit }, SendCommit, { provide: APP_FILTER, useClass: SessionErrorFilter }];
  }
  if (commit === 'interceptor' || commit === undefined) {
    return [
      { provide: SESSION_COMMIT_MODE, useValue: 'interceptor' },
      { provide: APP_INTERCEPTOR, useClass: SessionCommitInterceptor },
    ];
  }
  throw new SessionConfigError([`commit must be one of ${COMMIT_MODES.join(', ')} (got ${describeValue('commit', commit)})`]);
}
