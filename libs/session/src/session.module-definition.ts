import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SessionModuleOptions } from './options/session-options.interface.js';

const EXTRAS: { isGlobal: boolean } = { isGlobal: false };

export const {
  ConfigurableModuleClass: SessionConfigurableModule,
  MODULE_OPTIONS_TOKEN: SESSION_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSessionOptions')
  .setExtras(EXTRAS, (definition, { isGlobal }) => ({ ...definition, global: isGlobal }))
  .build();

/** `forRoot()` argument: the options plus the module extra `isGlobal` (make the module's exports visible everywhere). */
export type SessionModuleForRootOptions = typeof OPTIONS_TYPE;
/** `forRootAsync()` argument: `{ imports, inject, useFactory }`, `useClass` or `useExisting`, plus `isGlobal`. */
export type SessionModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
