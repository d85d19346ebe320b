import { createHash, createSign, type KeyObject } from 'node:crypto';
import type { Jwk, Jwks } from 'aws-jwt-verify/jwk';

export function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

/** Signs header and payload as a compact RS256 JWS. */
export function signRs256(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  privateKey: KeyObject,
): string {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(privateKey);
  return `${signingInput}.${base64url(signature)}`;
}

/** RFC 7638 thumbprint, used as a stable `kid`. */
export function jwkThumbprint(publicKey: KeyObject): string {
  const { e, kty, n } = publicKey.export({ format: 'jwk' });
  return createHash('sha256').update(JSON.stringify({ e, kty, n })).digest('base64url');
}

/** The public half as a Cognito-style JWK (`alg`, `kid`, `use`). */
export function publicJwk(publicKey: KeyObject, kid: string): Jwk {
  const { e, kty, n } = publicKey.export({ format: 'jwk' });
  return { alg: 'RS256', e: String(e), kid, kty: String(kty), n: String(n), use: 'sig' };
}

export function jwksOf(...keys: Jwk[]): Jwks {
  return { keys };
}
