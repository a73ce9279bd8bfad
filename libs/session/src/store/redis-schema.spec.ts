import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { META, SCRIPTS, dataField, indexMember, parseIndexMember, sessionKey, tombstoneOp, userIndexKey } from './redis-schema.js';

const readme = readFileSync(fileURLToPath(new URL('../../../../README.md', import.meta.url)), 'utf8');

describe('redis-schema', () => {
  it('puts every session and index key in a Cluster hash tag', () => {
    expect(sessionKey('sess:', 'abc')).toBe('sess:{abc}');
    expect(userIndexKey('sess:', 'alice')).toBe('sess:user:{alice}');
  });

  it('keeps data fields apart from metadata fields', () => {
    for (const field of Object.values(META)) expect(field.startsWith('m:')).toBe(true);
    expect(dataField('m:c')).toBe('d:m:c');
  });

  it('round-trips user-index members', () => {
    expect(parseIndexMember(indexMember('handle_1', 'store-id'))).toEqual({ handle: 'handle_1', storeId: 'store-id' });
    expect(parseIndexMember('no-dot')).toBeNull();
  });

  it("reads a tombstone's op id, and nothing from anything else", () => {
    expect(tombstoneOp('["op-1","alice","h1",""]')).toBe('op-1');
    for (const other of [null, '', 'not json', '{"0":"op"}', '[1,"a"]', '[]']) expect(tombstoneOp(other)).toBeNull();
  });

  it('declares exactly one key per script (valid on Redis Cluster)', () => {
    for (const script of Object.values(SCRIPTS)) {
      expect(script.numberOfKeys).toBe(1);
      expect(script.lua).not.toMatch(/KEYS\[2\]/);
    }
  });

  it('matches the README key-layout table', () => {
    for (const field of Object.values(META)) expect(readme).toContain(`\`${field}\``);
    expect(readme).toContain('`sess:{<storeId>}`');
    expect(readme).toContain('`sess:user:{<userId>}`');
  });
});
