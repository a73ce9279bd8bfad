import { dataField, fieldCost } from './redis-schema.js';
import type { SessionDelta } from './session-store.interface.js';

/** Bytes the data counts towards maxDataBytes, computed the same way as the Redis scripts do. */
export function dataBytes(data: ReadonlyMap<string, string>): number {
  let total = 0;
  for (const [key, json] of data) total += fieldCost(dataField(key), json);
  return total;
}

/** The key with the largest value: the one a "too large" error names. */
export function largestKey(data: ReadonlyMap<string, string>): string {
  let best = '';
  let bestSize = -1;
  for (const [key, json] of data) {
    if (json.length > bestSize) [best, bestSize] = [key, json.length];
  }
  return best;
}

export function applyDelta(data: ReadonlyMap<string, string>, delta: SessionDelta): Map<string, string> {
  const next = new Map(data);
  for (const key of delta.delete) next.delete(key);
  for (const [key, json] of delta.set) next.set(key, json);
  return next;
}

export const EMPTY_DELTA: SessionDelta = { set: new Map(), delete: new Set() };
