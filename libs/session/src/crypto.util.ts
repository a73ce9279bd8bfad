import * as crypto from 'node:crypto';
import { createHash, createPrivateKey, createPublicKey, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/** A random token of `bytes` bytes from the OS CSPRNG, base64url without padding. */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 of a UTF-8 string, base64url without padding (43 characters). */
export function sha256Base64Url(value: string): string {
  return oneShotHash ? oneShotHash('sha256', value, 'base64url') : createHash('sha256').update(value, 'utf8').digest('base64url');
}

/**
 * `crypto.hash` (Node >= 20.12): no Hash object per call. A Hash is a stream, and the hashed
 * strategy hashes once per request; on an Express request the object and its garbage cost more
 * than the digest itself.
 */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;

/** Constant-time string comparison, so a mismatch position is not observable through timing. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * JWT key material as a KeyObject, built once. Given a string, jsonwebtoken builds one on every
 * sign/verify, and for a secret it first tries to parse it as a PEM key and catches the failure:
 * that exception was most of the CPU of a request on the jwt strategy.
 */
export function jwtKeyObject(material: { secret?: string; publicKey?: string; privateKey?: string }, use: 'sign' | 'verify'): KeyObject {
  if (material.secret !== undefined) return createSecretKey(Buffer.from(material.secret, 'utf8'));
  return use === 'sign' ? createPrivateKey(material.privateKey as string) : createPublicKey(material.publicKey as string);
}
