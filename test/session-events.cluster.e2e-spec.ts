/**
 * Expiry events on a real Redis Cluster (3 masters): the deadline entries are spread over 16
 * shard sets in different slots (and on more than one master), each shard's two-key scripts run in
 * its one slot (no CROSSSLOT), and every expiry is reported once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { SESSION_EVENTS, SessionExpirySweeper, SessionModule, SessionService } from '@app/session';
import { sleep, uniquePrefix } from './support/demo-app.js';
import { startTopology, type ClusterTopology } from './support/redis-topology.js';

let topology: ClusterTopology;
let app: INestApplicationContext;
const prefix = uniquePrefix('cluster-expiry');
const expired: Array<{ id: string; userId: string | null; reason: string }> = [];

beforeAll(async () => {
  topology = await startTopology('cluster');
  @Module({
    imports: [
      EventEmitterModule.forRoot(),
      SessionModule.forRoot({ redis: topology.redis, keyPrefix: prefix, ttl: { idle: 1, absolute: 600 }, expiryEvents: { intervalSeconds: 3600 } }),
    ],
  })
  class ClusterEventsModule {}
  app = await (await Test.createTestingModule({ imports: [ClusterEventsModule] }).compile()).init();
  app.get(EventEmitter2).on(SESSION_EVENTS.expired, (event: { id: string; userId: string | null; reason: string }) => expired.push(event));
}, 60_000);

afterAll(async () => {
  await app?.close();
  await topology?.stop();
});

describe('expiry events on Redis Cluster', () => {
  it('spreads the deadline sets over slots and masters, and reports each expiry once', async () => {
    const service = app.get(SessionService);
    const issued = await Promise.all(Array.from({ length: 40 }, (_, i) => service.create(`user${i}`)));

    const deadlineKeys = (await topology.allEntries()).map((e) => e.key).filter((k) => k.startsWith(`${prefix}deadlines:`) && !k.endsWith(':meta'));
    expect(deadlineKeys.length).toBeGreaterThan(4);
    const masters = new Set(await Promise.all(deadlineKeys.map(async (k) => (await topology.masterFor(k)).port)));
    expect(masters.size).toBeGreaterThan(1);
    for (const key of deadlineKeys) {
      expect(await topology.slotOf(`${key}:meta`)).toBe(await topology.slotOf(key));
    }

    const sweeper = app.get(SessionExpirySweeper);
    for (const deadline = Date.now() + 15_000; expired.length < issued.length && Date.now() < deadline; ) {
      await sweeper.sweepNow();
      if (expired.length < issued.length) await sleep(200);
    }
    await sweeper.sweepNow();
    expect(expired.map((e) => e.id).sort()).toEqual(issued.map((i) => i.id).sort());
    expect(new Set(expired.map((e) => e.reason))).toEqual(new Set(['idle']));
  });
});
