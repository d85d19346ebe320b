import { randomBytes } from 'node:crypto';
import { contextBytes, type EncryptionContext } from '../context.js';
import { KeyUnavailableError, open, seal } from '../gcm.js';
import type { DataKey, KeyProvider } from '../key-provider.js';

/** A key ring: id → 32-byte key; `active` wraps new data keys, the others only unwrap. */
export interface LocalKeyRing {
  active: string;
  keys: Record<string, Buffer>;
}

/** What a local key id may be (it is stored with each secret as "local:<id>"). */
export const LOCAL_KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Own keys only: a stored key id such as "local:constructor" must not find an Object built-in. */
const ringKey = (keys: Record<string, Buffer>, id: string) =>
  Object.hasOwn(keys, id) ? keys[id] : undefined;

/**
 * Key-encryption keys held by the process (from an environment variable or a file): for
 * development, tests and hosts without a KMS. Data keys are wrapped with AES-256-GCM under the
 * KEK with the encryption context as AAD.
 */
export class LocalKeyProvider implements KeyProvider {
  readonly kind = 'local';
  readonly #ring: LocalKeyRing;

  constructor(ring: LocalKeyRing) {
    if (!ringKey(ring.keys, ring.active))
      throw new Error(`active key "${ring.active}" is not in the key ring`);
    for (const [id, key] of Object.entries(ring.keys)) {
      if (key.length !== 32) throw new Error(`key "${id}" must be 32 bytes (got ${key.length})`);
      if (!LOCAL_KEY_ID.test(id)) throw new Error(`key id "${id}" must match [A-Za-z0-9._-]{1,64}`);
    }
    this.#ring = { active: ring.active, keys: Object.assign(Object.create(null), ring.keys) };
  }

  async activeKeyId(): Promise<string> {
    return this.#activeKeyId();
  }

  #activeKeyId(): string {
    return `local:${this.#ring.active}`;
  }

  #kek(keyId: string): Buffer {
    const id = keyId.startsWith('local:') ? keyId.slice('local:'.length) : undefined;
    const key = id === undefined ? undefined : ringKey(this.#ring.keys, id);
    if (!key) throw new KeyUnavailableError(`key-encryption key ${keyId} is not in the local key ring`);
    return key;
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const plaintext = randomBytes(32);
    const keyId = this.#activeKeyId();
    return { plaintext, keyId, wrapped: seal(this.#kek(keyId), plaintext, contextBytes(context)) };
  }

  async unwrap(wrapped: Buffer, keyId: string, context: EncryptionContext): Promise<Buffer> {
    return open(this.#kek(keyId), wrapped, contextBytes(context));
  }

  async rewrap(wrapped: Buffer, keyId: string, context: EncryptionContext) {
    const plaintext = await this.unwrap(wrapped, keyId, context);
    try {
      const target = this.#activeKeyId();
      return { keyId: target, wrapped: seal(this.#kek(target), plaintext, contextBytes(context)) };
    } finally {
      plaintext.fill(0);
    }
  }
}
