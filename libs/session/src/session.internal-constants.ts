/** The validated options with defaults applied. */
export const SESSION_RESOLVED_OPTIONS = Symbol('nestjs-redis-session:resolved-options');
/** The ioredis client together with whether the module created it (and so must close it). */
export const SESSION_REDIS_CONNECTION = Symbol('nestjs-redis-session:redis-connection');
/** The module's SessionCommitMode (a forRoot/forRootAsync extra). */
export const SESSION_COMMIT_MODE = Symbol('nestjs-redis-session:commit-mode');
