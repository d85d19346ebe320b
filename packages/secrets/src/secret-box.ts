import { contextBytes, encryptionContext, type SecretBinding } from './context.js';
import { open, seal } from './gcm.js';
import type { KeyProvider } from './key-provider.js';

/** What a table stores for one secret (or one JSON object of secrets): all three columns. */
export interface SealedSecret {
  /** AES-256-GCM blob of the secret under the data key, AAD = the binding. */
  ciphertext: Buffer;
  /** The data key, wrapped by the provider's key-encryption key (context = the binding). */
  wrappedKey: Buffer;
  /** Which key-encryption key wrapped it (rotation re-wraps those that are not the active one). */
  keyId: string;
}

/**
 * Envelope encryption: each seal makes a fresh data key, encrypts with it, and keeps only its
 * wrapped form. Opening unwraps the data key, decrypts, and wipes the key from memory.
 */
export class SecretBox {
  constructor(readonly provider: KeyProvider) {}

  async seal(plaintext: Buffer | string, binding: SecretBinding): Promise<SealedSecret> {
    const context = encryptionContext(binding);
    const key = await this.provider.generateDataKey(context);
    try {
      const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
      return {
        ciphertext: seal(key.plaintext, data, contextBytes(context)),
        wrappedKey: key.wrapped,
        keyId: key.keyId,
      };
    } finally {
      key.plaintext.fill(0);
    }
  }

  async open(sealed: SealedSecret, binding: SecretBinding): Promise<Buffer> {
    const context = encryptionContext(binding);
    const key = await this.provider.unwrap(sealed.wrappedKey, sealed.keyId, context);
    try {
      return open(key, sealed.ciphertext, contextBytes(context));
    } finally {
      key.fill(0);
    }
  }

  async sealJson(value: unknown, binding: SecretBinding): Promise<SealedSecret> {
    return await this.seal(JSON.stringify(value), binding);
  }

  async openJson<T>(sealed: SealedSecret, binding: SecretBinding): Promise<T> {
    return JSON.parse((await this.open(sealed, binding)).toString('utf8')) as T;
  }

  /** True when the data key is wrapped under a key that is no longer the active one. */
  async needsRewrap(sealed: Pick<SealedSecret, 'keyId'>): Promise<boolean> {
    return sealed.keyId !== (await this.provider.activeKeyId());
  }

  /** Rotation: the data key re-wrapped under the active key; the ciphertext is not touched. */
  async rewrap(sealed: SealedSecret, binding: SecretBinding): Promise<SealedSecret> {
    const moved = await this.provider.rewrap(sealed.wrappedKey, sealed.keyId, encryptionContext(binding));
    return { ciphertext: sealed.ciphertext, wrappedKey: moved.wrapped, keyId: moved.keyId };
  }
}
