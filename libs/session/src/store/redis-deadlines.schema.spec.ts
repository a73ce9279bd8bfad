import { describe, expect, it } from '@jest/globals';
import { DEADLINE_SCRIPTS, deadlineKey, deadlineMeta, deadlineMetaKey, deadlineShard, parseDeadlineMeta } from './redis-deadlines.schema.js';

/** The hash tag Redis Cluster hashes: the text between the first { and the next }. */
const hashTag = (key: string): string => /\{([^}]*)\}/.exec(key)?.[1] ?? key;

describe('deadline schema', () => {
  it('puts both keys of a shard in one Cluster slot, and shards in different tags', () => {
    expect(deadlineKey('sess:', 3)).toBe('sess:deadlines:{d3}');
    expect(deadlineMetaKey('sess:', 3)).toBe('sess:deadlines:{d3}:meta');
    expect(hashTag(deadlineMetaKey('sess:', 3))).toBe(hashTag(deadlineKey('sess:', 3)));
    expect(new Set(Array.from({ length: 16 }, (_, n) => hashTag(deadlineKey('sess:', n)))).size).toBe(16);
  });

  it('declares two keys per script and uses no other', () => {
    for (const script of Object.values(DEADLINE_SCRIPTS)) {
      expect(script.numberOfKeys).toBe(2);
      expect(script.lua).not.toMatch(/KEYS\[3\]/);
    }
  });

  it('maps a store id to the same shard every time, spread over all shards', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `id-${i}-AbCdEfGhIjKlMnOpQrStUv`);
    expect(ids.map((id) => deadlineShard(id, 16))).toEqual(ids.map((id) => deadlineShard(id, 16)));
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(deadlineShard(id, 16), (counts.get(deadlineShard(id, 16)) ?? 0) + 1);
    expect(counts.size).toBe(16);
    for (const count of counts.values()) expect(count).toBeGreaterThan(2000 / 16 / 2);
    expect(deadlineShard('anything', 1)).toBe(0);
  });

  it('round-trips the meta, user ids with dots and guests included', () => {
    expect(parseDeadlineMeta(deadlineMeta(123, 'handle_1', 'alice.smith@example.com'))).toEqual({
      absoluteDeadline: 123,
      handle: 'handle_1',
      userId: 'alice.smith@example.com',
    });
    expect(parseDeadlineMeta(deadlineMeta(5, 'h', null))).toEqual({ absoluteDeadline: 5, handle: 'h', userId: null });
    expect(parseDeadlineMeta('garbage')).toBeNull();
    expect(parseDeadlineMeta('x.h.u')).toBeNull();
  });
});
