import type { EncryptionContext } from './context.js';

/** A fresh data key: use `plaintext` once and wipe it; store `wrapped` and `keyId`. */
export interface DataKey {
  plaintext: Buffer;
  wrapped: Buffer;
  keyId: string;
}

/**
 * Holds the key-encryption keys. Data keys never leave it in clear except as the result of
 * generateDataKey/unwrap; the wrapped form is bound to the encryption context.
 */
export interface KeyProvider {
  /** 'local' or 'kms' (for logs and the rotation report). */
  readonly kind: string;
  /**
   * The key new data keys are wrapped under, in the form stored with each secret (KMS: the key's
   * ARN, whatever alias or id was configured), so rotation can tell which secrets to re-wrap.
   */
  activeKeyId(): Promise<string>;
  generateDataKey(context: EncryptionContext): Promise<DataKey>;
  unwrap(wrapped: Buffer, keyId: string, context: EncryptionContext): Promise<Buffer>;
  /** Wraps an existing data key again under the active key (rotation), same context. */
  rewrap(
    wrapped: Buffer,
    keyId: string,
    context: EncryptionContext,
  ): Promise<{ wrapped: Buffer; keyId: string }>;
}
