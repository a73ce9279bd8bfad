import { describe, expect, it } from '@jest/globals';
import { sessionOptionsFrom, validateDemoEnv } from './demo-env.js';

/** The startup error for `env`, or undefined when it is valid. */
function problemOf(env: Record<string, string>): string | undefined {
  try {
    validateDemoEnv(env);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('demo env: where Redis is', () => {
  it('maps REDIS_SENTINELS and REDIS_SENTINEL_NAME to the library sentinel option', () => {
    const env = validateDemoEnv({ REDIS_SENTINELS: 's1:26379, 10.0.0.2:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'mymaster' });
    expect(sessionOptionsFrom(env)).toMatchObject({
      store: 'redis',
      redis: {
        sentinels: [
          { host: 's1', port: 26379 },
          { host: '10.0.0.2', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        name: 'mymaster',
      },
    });
  });

  it('maps REDIS_CLUSTER_NODES to the library cluster option', () => {
    const env = validateDemoEnv({ REDIS_CLUSTER_NODES: 'redis-1.internal:7000,redis-2.internal:7001' });
    expect(sessionOptionsFrom(env)).toMatchObject({
      store: 'redis',
      redis: { cluster: { nodes: [{ host: 'redis-1.internal', port: 7000 }, { host: 'redis-2.internal', port: 7001 }] } },
    });
  });

  it('keeps REDIS_URL and the memory store as before', () => {
    expect(sessionOptionsFrom(validateDemoEnv({ REDIS_URL: 'redis://cache:7000' }))).toMatchObject({ store: 'redis', redis: { url: 'redis://cache:7000' } });
    const memory = sessionOptionsFrom(validateDemoEnv({}));
    expect(memory.store).toBe('memory');
    expect(memory.redis).toBeUndefined();
  });

  it.each([
    [{ REDIS_URL: 'redis://a:7000', REDIS_CLUSTER_NODES: 'b:7000' }, 'Set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (got REDIS_URL and REDIS_CLUSTER_NODES)'],
    [{ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'b:7000' }, '(got REDIS_SENTINELS and REDIS_CLUSTER_NODES)'],
  ])('refuses two ways of reaching Redis at once: %j', (env, expected) => {
    expect(problemOf(env)).toContain(expected);
  });

  it.each([
    ['REDIS_SENTINELS', 'sentinel-1', '"sentinel-1" is not host:port'],
    ['REDIS_SENTINELS', 'a:26379,,b:26379', '"" is not host:port'],
    ['REDIS_SENTINELS', 'a:26379,b:70000', 'the port of "b:70000" is not 1-65535'],
    ['REDIS_SENTINELS', 'a:0', 'the port of "a:0" is not 1-65535'],
    ['REDIS_CLUSTER_NODES', 'redis://a:7000', '"redis://a:7000" is not host:port'],
    ['REDIS_CLUSTER_NODES', 'a b:7000', '"a b:7000" is not host:port'],
    ['REDIS_CLUSTER_NODES', '::1:7000', '"::1:7000" is not host:port'],
    ['REDIS_CLUSTER_NODES', ' , ', 'REDIS_CLUSTER_NODES must list at least one host:port'],
  ])('names the variable and the bad entry: %s=%j', (variable, value, expected) => {
    const env: Record<string, string> = { [variable]: value };
    if (variable === 'REDIS_SENTINELS') env.REDIS_SENTINEL_NAME = 'mymaster';
    const message = problemOf(env);
    expect(message).toContain(`${variable}`);
    expect(message).toContain(expected);
  });

  it('needs REDIS_SENTINEL_NAME with REDIS_SENTINELS, and REDIS_SENTINELS with REDIS_SENTINEL_NAME', () => {
    expect(problemOf({ REDIS_SENTINELS: 'a:26379' })).toContain('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS');
    expect(problemOf({ REDIS_SENTINEL_NAME: 'mymaster' })).toContain('REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not');
    expect(problemOf({ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'my master' })).toContain('REDIS_SENTINEL_NAME must be');
  });

  it("maps SESSION_COMMIT to the commit option ('auto' when unset) and refuses other values", () => {
    expect(sessionOptionsFrom(validateDemoEnv({ SESSION_COMMIT: 'on-send' })).commit).toBe('on-send');
    expect(sessionOptionsFrom(validateDemoEnv({ SESSION_COMMIT: 'interceptor' })).commit).toBe('interceptor');
    expect(sessionOptionsFrom(validateDemoEnv({})).commit).toBe('auto');
    expect(problemOf({ SESSION_COMMIT: 'on-response' })).toContain('SESSION_COMMIT must be auto, interceptor or on-send');
  });

  it('maps SESSION_ROTATION_GRACE_MS to rotationGraceMs and refuses values outside 0-60000', () => {
    expect(sessionOptionsFrom(validateDemoEnv({ SESSION_ROTATION_GRACE_MS: '0' })).rotationGraceMs).toBe(0);
    expect(sessionOptionsFrom(validateDemoEnv({})).rotationGraceMs).toBeUndefined();
    for (const bad of ['60001', '-1', '5s']) expect(problemOf({ SESSION_ROTATION_GRACE_MS: bad })).toContain('SESSION_ROTATION_GRACE_MS must be 0 (off) to 60000 ms');
  });

  it('lists every problem in one error', () => {
    const message = problemOf({ REDIS_URL: 'redis://a:7000', REDIS_SENTINELS: 'x,y:1', SESSION_IDLE_TTL: '-1' }) ?? '';
    expect(message).toContain('Set only one of');
    expect(message).toContain('"x" is not host:port');
    expect(message).toContain('REDIS_SENTINEL_NAME is required');
    expect(message).toContain('SESSION_IDLE_TTL');
  });
});
