import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER = 1 + IV_BYTES + TAG_BYTES;

/** Thrown when a blob does not open: wrong key, wrong binding, or tampered bytes. */
export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

/**
 * Thrown when the key-encryption key a secret names cannot be used here: not in the local ring,
 * or deleted, disabled or pending deletion in KMS. The secret may be intact; the setup is not.
 */
export class KeyUnavailableError extends Error {
  override name = 'KeyUnavailableError';
}

/** AES-256-GCM, a fresh random IV per call. Blob = 0x01 | iv(12) | tag(16) | ciphertext. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  if (key.length !== 32) throw new TypeError('AES-256-GCM needs a 32-byte key');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]);
}

export function open(key: Buffer, blob: Buffer, aad: Buffer): Buffer {
  if (blob.length < HEADER || blob[0] !== VERSION) throw new DecryptionError('unknown or truncated blob');
  // authTagLength pinned: Node 20 would otherwise accept a truncated tag (DEP0182).
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(1, 1 + IV_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(aad);
  decipher.setAuthTag(blob.subarray(1 + IV_BYTES, HEADER));
  try {
    return Buffer.concat([decipher.update(blob.subarray(HEADER)), decipher.final()]);
  } catch {
    throw new DecryptionError('the blob does not open with this key and binding');
  }
}
