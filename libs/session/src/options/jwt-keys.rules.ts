import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { RawOptions } from './option-shape.js';

/**
 * Public-key `jwt.keys`, parsed at startup: a truncated, weak, mismatched or wrong-type key would
 * otherwise fail on the first sign-in (or every verification), not when the app boots.
 */

/** Which key each algorithm signs with (RFC 7518): its type, and for ES* the curve. PS* also takes RSA-PSS keys. */
function keyFits(alg: string, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  const family = alg.slice(0, 2);
  if (family === 'RS') return type === 'rsa';
  if (family === 'PS') return type === 'rsa' || type === 'rsa-pss';
  return family === 'ES' && type === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[alg];
}
const EC_CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
/** What jsonwebtoken signs and verifies with unless told to allow weaker RSA keys. */
const MIN_RSA_BITS = 2048;

/** Parses a PEM key now, so a wrong or truncated key fails at startup rather than on the first sign-in. */
export function pemProblems(path: string, pem: unknown, kind: 'public' | 'private', algorithms: readonly unknown[], note = ''): string[] {
  if (typeof pem !== 'string') return [`${path} must be a PEM ${kind} key${note}`];
  // Node derives a public key from a private PEM without a word, so a private key pasted here
  // would work, and be copied to every server that only verifies.
  if (kind === 'public' && isPrivatePem(pem)) return [`${path} holds a private key; give its public half (the servers that only verify get this option)`];
  let key: KeyObject;
  try {
    key = kind === 'public' ? createPublicKey(pem) : createPrivateKey(pem);
  } catch (error) {
    return [`${path} is not a readable PEM ${kind} key${note} (${(error as Error).message})`];
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits !== undefined && bits < MIN_RSA_BITS) return [`${path} is a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`];
  if (algorithms.length === 0 || algorithms.some((alg) => keyFits(String(alg), key))) return [];
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const described = `a key of type ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` on curve ${curve}` : ''}`;
  return [`${path} is ${described}, which none of jwt.algorithms (${algorithms.join(', ')}) signs with`];
}

/** The signing key's private half, readable and matching its public half: else every token it signs fails to verify. */
export function signingKeyProblems(path: string, key: RawOptions, algorithms: readonly unknown[]): string[] {
  const problems = pemProblems(`${path}.privateKey`, key.privateKey, 'private', algorithms, ' (the first key signs)');
  if (problems.length > 0 || typeof key.publicKey !== 'string') return problems;
  try {
    const derived = createPublicKey(key.privateKey as string).export({ type: 'spki', format: 'der' });
    const given = createPublicKey(key.publicKey).export({ type: 'spki', format: 'der' });
    return derived.equals(given) ? [] : [`${path}.privateKey and ${path}.publicKey are not one key pair`];
  } catch {
    return []; // an unreadable public key is reported by its own check
  }
}

function isPrivatePem(pem: string): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}
