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
  SessionDurabilityOptions,
  SessionCacheOptions,
  SessionCommitMode,
} from './options/session-options.interface.js';
export { SESSION_REDIS, ALLOW_ANONYMOUS } from './session.constants.js';
export { Session, AllowAnonymous, type AllowAnonymousOptions } from './session.decorators.js';
export { SessionGuard } from './session.guard.js';
export { SessionCommitInterceptor } from './session.interceptor.js';
export { SessionErrorFilter } from './http/session-error.filter.js';
export { UserSession, type SessionKey } from './user-session.js';
export { SessionService, type SessionSnapshot, type IssuedSession } from './session.service.js';
export {
  SessionStore,
  type SessionInfo,
  type StoredSession,
  type NewSession,
  type SessionDelta,
  type RotationTarget,
  type RotationOutcome,
  type RotationRefused,
  type SessionWritten,
  type WriteRefusal,
  type StoreSettings,
} from './store/session-store.interface.js';
export { RedisSessionStore } from './store/redis-session.store.js';
export { MemorySessionStore } from './store/memory-session.store.js';
export { CachedSessionStore } from './cache/cached-session.store.js';
export type { SessionCacheStats } from './cache/near-cache.js';
export {
  SessionStrategy,
  type CredentialCheck,
  type MintedCredential,
} from './strategies/session-strategy.interface.js';
export { SessionIdStrategy } from './strategies/session-id.strategy.js';
export { HashedTokenStrategy } from './strategies/hashed.strategy.js';
export { JwtSessionStrategy } from './strategies/jwt.strategy.js';
export type { SessionRequest, ResponseWriter } from './http/http-message.js';
export type { MaybePromise } from './maybe-promise.js';
export { RECOMMENDED_REDIS_OPTIONS } from './redis/redis-client.factory.js';
export {
  SessionError,
  SessionConfigError,
  SessionStoreUnavailableError,
  SessionDurabilityError,
  SessionDataTooLargeError,
  SessionDataError,
  SessionGoneError,
  SessionReplacedError,
  SessionSignInRequiredError,
  SessionUsageError,
} from './session.errors.js';
export { SESSION_ENDED_EVENT, type SessionEndedReason } from './ws/socket-ending.js';
export {
  SessionSockets,
  type SocketSessionInfo,
  type AttachSessionOptions,
  type SocketMiddlewareHost,
} from './ws/session-sockets.service.js';
export type { SessionSocket } from './ws/handshake-request.js';
export type { WsSessionErrorBody } from './ws/ws-errors.js';
export { SessionEndedBus, type SessionEnded, type SessionEndedListener } from './revocation/session-ended.bus.js';
export { SessionPassportGuard } from './passport/session-passport.guard.js';
export type { ExpressSessionView, PassportSessionView } from './passport/express-session-view.js';
// Operations: CSRF defence, health, lifecycle events, metrics, OpenAPI.
export type {
  SessionCsrfOptions,
  SessionExpiryEventsOptions,
  SessionMetricsOptions,
} from './options/session-operations-options.interface.js';
export {
  SessionHealthIndicator,
  type SessionHealthResult,
  type SessionPingCheckOptions,
} from './health/session.health-indicator.js';
export {
  SESSION_EVENTS,
  type SessionEventName,
  type SessionEventMap,
  type SessionEventBase,
  type SessionCreatedEvent,
  type SessionRotatedEvent,
  type SessionDestroyedEvent,
  type SessionRevokedEvent,
  type SessionExpiredEvent,
} from './events/session-events.js';
export { SessionExpirySweeper } from './events/session-expiry.sweeper.js';
export { SESSION_METER_NAME, SESSION_METRIC_NAMES } from './metrics/session.metrics.js';
export {
  applySessionSecurity,
  type SessionSecurityBuilder,
  type SessionSecurityScheme,
} from './swagger/session-security.js';
