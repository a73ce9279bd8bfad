/** The validated options with defaults applied. */
export const SESSION_RESOLVED_OPTIONS = Symbol('nestjs-redis-session:resolved-options');
/** The ioredis client together with whether the module created it (and so must close it). */
export const SESSION_REDIS_CONNECTION = Symbol('nestjs-redis-session:redis-connection');
