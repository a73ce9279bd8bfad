import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SessionModuleOptions } from './options/session-options.interface.js';
import { commitModeProviders, type SessionCommitMode } from './session-commit-mode.js';

const EXTRAS: { isGlobal: boolean; commit: SessionCommitMode } = { isGlobal: false, commit: 'interceptor' };

export const {
  ConfigurableModuleClass: SessionConfigurableModule,
  MODULE_OPTIONS_TOKEN: SESSION_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSessionOptions')
  .setExtras(EXTRAS, (definition, { isGlobal, commit }) => ({
    ...definition,
    global: isGlobal,
    providers: [...(definition.providers ?? []), ...commitModeProviders(commit)],
  }))
  .build();

/**
 * `forRoot()` argument: the options plus the module extras `isGlobal` (make the module's exports
 * visible everywhere) and `commit` (where session changes are saved, see SessionCommitMode).
 */
export type SessionModuleForRootOptions = typeof OPTIONS_TYPE;
/** `forRootAsync()` argument: `{ imports, inject, useFactory }`, `useClass` or `useExisting`, plus the same extras. */
export type SessionModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
