/** Injection token of the ioredis client (Redis or Cluster) the module uses. */
export const SESSION_REDIS = Symbol('nestjs-redis-session:redis');

/** Route metadata: the route runs without a session credential. */
export const ALLOW_ANONYMOUS = 'nestjs-redis-session:allow-anonymous';
