import 'reflect-metadata';
import { it, expect } from '@jest/globals';
import jwt from 'jsonwebtoken';
import { resolveSessionOptions } from './resolved-options.js';
import { JwtSessionStrategy } from '../strategies/jwt.strategy.js';
import { CookieTransport } from '../http/credential-transport.js';
const t = (o: unknown) => { try { resolveSessionOptions(o as never); console.log('OK'); } catch (e) { console.log((e as Error).message); } };
it('probe', async () => {
  t({ store: 'memory', strategy: 'jwt', jwt: { secret: 'x'.repeat(32), algorithms: ['HS256', 'none'] } });
  t({ redis: { url: 'redis//:hunter2@host' } });
  const o = resolveSessionOptions({ store: 'memory', strategy: 'jwt', jwt: { secret: 'x'.repeat(32) } });
  const s = new JwtSessionStrategy(o);
  try { const m = await s.mint('alice', Date.now() + 100000); console.log(m, jwt.decode(m.credential, { complete: true })); console.log(await s.verify(m.credential)); } catch (e) { console.log('MINT ERR', e); }
  const o2 = resolveSessionOptions({ store: 'memory', strategy: 'jwt', jwt: { keys: [{ kid: 'k1', secret: 'x'.repeat(32) }], issuer: 'me', audience: 'you' } });
  const s2 = new JwtSessionStrategy(o2);
  const m2 = await s2.mint('alice', Date.now() + 100000); console.log(jwt.decode(m2.credential, { complete: true }));
  const out: string[] = [];
  const w = { appendHeader: (n: string, v: string) => out.push(`${n}: ${v}`) };
  const c = new CookieTransport({ name: 'sid', domain: 'example.com', path: '/app', sameSite: 'lax', secure: true, maxAge: null });
  c.write(w, 'tok', Date.now() + 3600_000); c.clear(w);
  console.log(out);
  expect(1).toBe(1);
});
