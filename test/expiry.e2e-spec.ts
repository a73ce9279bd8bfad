/**
 * Demo app: idle and absolute expiry with short TTLs, for the three strategies.
 *
 * The waits are real time, so the three strategies run side by side in one test (each against its
 * own app) instead of one after the other: the whole file takes about 9 s instead of 27 s. Each
 * result names its strategy and step, so a failure says which one broke where.
 *
 * The absolute test uses idle 3 s / absolute 4 s rather than 2 s / 3 s: with 2 s / 3 s the request
 * at 2 s falls in the last second before the deadline, where a JWT's exp (whole seconds) may
 * already have passed, so the outcome would depend on sub-second timing. How exp relates to the
 * deadline is tested on its own, deterministically, in jwt.e2e-spec.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { STRATEGIES, demoEnv, sleep, startDemoApp, uniqueUser, type DemoApp, type StrategyName } from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

let redis: SuiteRedis;

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

/** One app per strategy with the given TTLs. */
function appsWith(label: string, idle: number, absolute: number) {
  const apps = {} as Record<StrategyName, DemoApp>;
  beforeAll(async () => {
    for (const strategy of STRATEGIES) {
      apps[strategy] = await startDemoApp(
        demoEnv(redis, strategy, label, { SESSION_IDLE_TTL: String(idle), SESSION_ABSOLUTE_TTL: String(absolute) }),
      );
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(apps).map((demo) => demo.close()));
  });
  return apps;
}

/**
 * Runs `scenario` for every strategy at once. A scenario that throws (e.g. a login that fails)
 * reports its error as its result, so every scenario has finished before the test asserts and
 * none is left sending requests to an app that afterAll is closing.
 */
function forEachStrategy<T extends object>(scenario: (strategy: StrategyName) => Promise<T>) {
  return Promise.all(
    STRATEGIES.map((strategy) =>
      scenario(strategy).catch((error: unknown) => ({ strategy, error: (error as Error)?.message ?? String(error) })),
    ),
  );
}

/** Waits until `ms` after `start`. */
const until = (start: number, ms: number) => sleep(Math.max(0, start + ms - Date.now()));

describe('idle expiry (SESSION_IDLE_TTL=2, SESSION_ABSOLUTE_TTL=60)', () => {
  const apps = appsWith('idle', 2, 60);

  it('slides with activity and ends 2 s after the last request', async () => {
    const results = await forEachStrategy(async (strategy) => {
      const client = apps[strategy].client();
      await client.login(uniqueUser('idle'));
      const start = Date.now();

      await until(start, 1000);
      const sentAt = Date.now();
      const first = await client.get('/me');
      // The request slid the idle deadline: the session now ends 2 s after it, not 2 s after login.
      const slid = first.status === 200 && Date.parse(first.body.expiresAt) >= sentAt + 2000;

      await until(start, 2100); // past the first idle deadline (login + 2 s), within the slid one
      const second = await client.get('/me');

      await sleep(2300); // no request for longer than the idle TTL
      const third = await client.get('/me');

      return { strategy, at1s: first.status, slid, at2_1s: second.status, after2_3sIdle: third.status };
    });
    expect(results).toEqual(
      STRATEGIES.map((strategy) => ({ strategy, at1s: 200, slid: true, at2_1s: 200, after2_3sIdle: 401 })),
    );
  });
});

describe('absolute expiry (SESSION_IDLE_TTL=3, SESSION_ABSOLUTE_TTL=4)', () => {
  const apps = appsWith('absolute', 3, 4);

  it('ends at the absolute deadline despite a request every second, and reports that deadline as expiresAt', async () => {
    const results = await forEachStrategy(async (strategy) => {
      const client = apps[strategy].client();
      const start = Date.now();
      await client.login(uniqueUser('absolute'));

      await until(start, 1000);
      const first = await client.get('/me');
      await until(start, 2000);
      const second = await client.get('/me');
      // From here the idle deadline (last access + 3 s = about 5 s) is later than the absolute
      // one (created + 4 s): expiresAt must be the absolute deadline, exactly.
      const createdAt = Date.parse(second.body?.createdAt);
      const expiresAt = Date.parse(second.body?.expiresAt);
      const expiresAtIsAbsoluteDeadline = second.status === 200 && expiresAt === createdAt + 4000;

      // Past the absolute deadline but within the idle one: only the absolute TTL can end it.
      await until(start, 4300);
      const third = await client.get('/me');
      return { strategy, at1s: first.status, at2s: second.status, expiresAtIsAbsoluteDeadline, at4_3s: third.status };
    });
    expect(results).toEqual(
      STRATEGIES.map((strategy) => ({ strategy, at1s: 200, at2s: 200, expiresAtIsAbsoluteDeadline: true, at4_3s: 401 })),
    );
  });
});
