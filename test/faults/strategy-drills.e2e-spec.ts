/**
 * The core standalone drills (killed mid-request and restarted from the AOF; hung with SIGSTOP and
 * resumed; restarted empty) for the strategies standalone-drills.e2e-spec.ts does not run them
 * with: `jwt` (a bearer token whose `sid` must still be found in Redis) and `hashed` (the cookie
 * holds a token, Redis its SHA-256). The drills themselves are shared (fault-drill.ts), so every
 * strategy is held to the same assertions; each strategy gets its own server and app.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { DEMO_AUDIENCE, DEMO_ISSUER, STRATEGIES, signJwt, type StrategyName } from '../support/demo-app.js';
import {
  drillHung,
  drillKilledAndRestarted,
  drillRestartedEmpty,
  failOnProcessErrors,
  hit,
  printDrillReport,
  type StandaloneDrillTarget,
} from '../support/fault-drill.js';
import { trackTempDir } from '../support/redis-server.js';
import { startStandalone } from '../support/redis-topology.js';
import { startDemoOn } from '../support/topology-demo.js';

failOnProcessErrors();

/** session-id runs these in standalone-drills.e2e-spec.ts. */
const OTHER_STRATEGIES = STRATEGIES.filter((s): s is Exclude<StrategyName, 'session-id'> => s !== 'session-id');

afterAll(() => {
  printDrillReport(`standalone Redis, strategies ${OTHER_STRATEGIES.join(' and ')} (AOF fsync always, commandTimeout 1000 ms)`);
});

describe.each(OTHER_STRATEGIES)('strategy %s', (strategy) => {
  const target = {} as StandaloneDrillTarget;

  beforeAll(async () => {
    target.dataDir = mkdtempSync(join(tmpdir(), 'redis-aof-'));
    trackTempDir(target.dataDir);
    target.topology = await startStandalone(['--dir', target.dataDir, '--appendonly', 'yes', '--appendfsync', 'always']);
    target.demo = await startDemoOn(target.topology.redis, strategy, `drill-${strategy}`);
  }, 30_000);

  afterAll(async () => {
    await target.demo?.close();
    await target.topology?.stop();
  });

  it('killed mid-request and restarted (with its AOF): 503 while down, the same credential works again after', async () => {
    await drillKilledAndRestarted(target);
  }, 60_000);

  it('hung (SIGSTOP) and resumed: 503 within the timeout, recovery, no key left without a TTL', async () => {
    await drillHung(target);
  }, 60_000);

  it('restarted empty: the lost session answers 401 (never 200, never 500); new logins work', async () => {
    await drillRestartedEmpty(target);
    if (strategy === 'jwt') {
      // A validly signed token whose session Redis does not have is refused like any other.
      const forged = signJwt({ sub: 'nobody', sid: randomBytes(24).toString('base64url'), iss: DEMO_ISSUER, aud: DEMO_AUDIENCE }, { expiresInSeconds: 600 });
      expect((await hit(target.demo, 'GET', '/me', forged)).status).toBe(401);
    }
  }, 60_000);
});
