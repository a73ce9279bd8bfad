import { describe, expect, it } from '@jest/globals';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { singleHeader } from './http-message.js';

/** A request as Node's HTTP parser hands it over: raw lines, and `headers` built from them on first read. */
function nodeRequest(rawHeaders: string[]): IncomingMessage {
  const request = new IncomingMessage(new Socket());
  // What Node's parser calls (not in Node's type definitions); it also sets what the headers getter reads.
  (request as IncomingMessage & { _addHeaderLines(lines: string[], count: number): void })._addHeaderLines(rawHeaders, rawHeaders.length);
  return request;
}

/** A small deterministic generator, so a failure names a case that can be run again. */
function generator(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % below;
  };
}

const NAMES = ['cookie', 'origin', 'host', 'authorization', 'sec-fetch-site', 'accept', 'x-session-id', 'cookies', 'x-cookie'];

function randomCase(name: string, next: (below: number) => number): string {
  return [...name].map((char) => (next(2) === 0 ? char.toUpperCase() : char)).join('');
}

describe('singleHeader on a Node request (read from its raw lines)', () => {
  it('answers as Node\'s own headers object for 20,000 generated requests: a repeat is ambiguous, repeated Cookie lines joined', () => {
    const next = generator(42);
    for (let n = 0; n < 20_000; n++) {
      const lines: string[] = [];
      const count = next(8);
      for (let i = 0; i < count; i++) lines.push(randomCase(NAMES[next(NAMES.length)] as string, next), `v${next(1000)}`);
      const request = nodeRequest(lines);
      const ours = NAMES.map((name) => singleHeader(request, name));
      const lowered = lines.filter((_, i) => i % 2 === 0).map((line) => line.toLowerCase());
      const expected = NAMES.map((name) => {
        const repeats = lowered.filter((line) => line === name).length;
        if (repeats > 1 && name !== 'cookie') return 'ambiguous';
        const value = request.headers[name];
        return value === undefined ? null : value;
      });
      expect({ lines, ours }).toEqual({ lines, ours: expected });
    }
  });

  it('matches names in any case, and only whole names', () => {
    const request = nodeRequest(['COOKIE', 'sid=a', 'Cookie', 'theme=dark', 'X-Cookie', 'no', 'ORIGIN', 'https://a.example']);
    expect(singleHeader(request, 'cookie')).toBe('sid=a; theme=dark');
    expect(singleHeader(request, 'origin')).toBe('https://a.example');
    expect(singleHeader(request, 'host')).toBeNull();
  });

  it('is the same for a plain request object with a headers object (Fastify) and raw lines beside it', () => {
    const plain = { headers: { origin: 'https://a.example' }, rawHeaders: ['Origin', 'https://a.example', 'origin', 'https://b.example'] };
    expect(singleHeader(plain, 'origin')).toBe('ambiguous');
    expect(singleHeader({ headers: { cookie: 'sid=a' } }, 'cookie')).toBe('sid=a');
  });
});
