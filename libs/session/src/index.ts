export { SessionModule } from './session.module.js';
export type { SessionModuleForRootOptions, SessionModuleAsyncOptions } from './session.module-definition.js';
export type {
  SessionModuleOptions,
  SessionRedisOptions,
  SessionRedisClientOptions,
  SessionCookieOptions,
  SessionJwtOptions,
  SessionJwtKey,
  SessionJwtAlgorithm,
  SessionStrategyName,
} from './options/session-options.interface.js';
export { SESSION_REDIS, ALLOW_ANONYMOUS } from './session.constants.js';
export { Session, AllowAnonymous, type AllowAnonymousOptions } from './session.decorators.js';
export { SessionGuard } from './session.guard.js';
export { SessionCommitInterceptor } from './session.interceptor.js';
export { UserSession, type SessionKey } from './user-session.js';
export { SessionService, type SessionSnapshot, type IssuedSession } from './session.service.js';
export {
  SessionStore,
  type SessionInfo,
  type StoredSession,
  type NewSession,
  type SessionDelta,
  type RotationTarget,
  type WriteRefusal,
  type StoreSettings,
} from './store/session-store.interface.js';
export { RedisSessionStore } from './store/redis-session.store.js';
export { MemorySessionStore } from './store/memory-session.store.js';
export {
  SessionStrategy,
  type CredentialCheck,
  type MintedCredential,
} from './strategies/session-strategy.interface.js';
export { SessionIdStrategy } from './strategies/session-id.strategy.js';
export { HashedTokenStrategy } from './strategies/hashed.strategy.js';
export { JwtSessionStrategy } from './strategies/jwt.strategy.js';
export type { SessionRequest, ResponseWriter } from './http/http-message.js';
export { RECOMMENDED_REDIS_OPTIONS } from './redis/redis-client.factory.js';
export {
  SessionError,
  SessionConfigError,
  SessionStoreUnavailableError,
  SessionDataTooLargeError,
  SessionDataError,
  SessionGoneError,
  SessionSignInRequiredError,
  SessionUsageError,
} from './session.errors.js';
