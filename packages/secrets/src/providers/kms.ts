import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import type { EncryptionContext } from '../context.js';
import { DecryptionError } from '../gcm.js';
import type { DataKey, KeyProvider } from '../key-provider.js';

export interface KmsKeyProviderOptions {
  /** Key id, ARN or alias (alias/prospectflow-secrets) new data keys are generated under. */
  keyId: string;
  /** Passed to the SDK's KMSClient (region, endpoint, credentials…); default chain otherwise. */
  client?: KMSClientConfig;
}

type Kms = typeof import('@aws-sdk/client-kms');
// Loaded on first use: processes using the local provider never load the AWS SDK.
let sdk: Promise<Kms> | undefined;
const loadSdk = () => {
  sdk ??= import('@aws-sdk/client-kms');
  return sdk;
};

function bytes(value: Uint8Array | undefined, what: string): Buffer {
  if (!value) throw new Error(`KMS returned no ${what}`);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * AWS KMS holds the key-encryption key: GenerateDataKey (AES_256) returns the data key in clear and
 * wrapped, Decrypt unwraps, ReEncrypt moves a wrapped key to the current key without exposing it.
 * The encryption context (organisation, record, purpose) must match exactly on every call.
 */
export class KmsKeyProvider implements KeyProvider {
  readonly kind = 'kms';
  readonly #keyId: string;
  readonly #config: KMSClientConfig;
  #client: Promise<KMSClient> | undefined;

  constructor(options: KmsKeyProviderOptions) {
    if (!options.keyId) throw new Error('the KMS key id is required');
    this.#keyId = options.keyId;
    this.#config = options.client ?? {};
  }

  activeKeyId(): string {
    return this.#keyId;
  }

  #kms(): Promise<KMSClient> {
    this.#client ??= loadSdk().then((m) => new m.KMSClient(this.#config));
    return this.#client;
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const { GenerateDataKeyCommand } = await loadSdk();
    const out = await (await this.#kms()).send(
      new GenerateDataKeyCommand({ KeyId: this.#keyId, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    return {
      plaintext: bytes(out.Plaintext, 'plaintext data key'),
      wrapped: bytes(out.CiphertextBlob, 'wrapped data key'),
      // The ARN KMS answers with, so rotation can tell which key wrapped what.
      keyId: out.KeyId ?? this.#keyId,
    };
  }

  async unwrap(wrapped: Buffer, keyId: string, context: EncryptionContext): Promise<Buffer> {
    const { DecryptCommand } = await loadSdk();
    try {
      const out = await (await this.#kms()).send(
        new DecryptCommand({ CiphertextBlob: wrapped, KeyId: keyId, EncryptionContext: context }),
      );
      return bytes(out.Plaintext, 'plaintext data key');
    } catch (error) {
      if ((error as { name?: string }).name === 'InvalidCiphertextException')
        throw new DecryptionError('KMS refused to unwrap the data key (wrong context or key)');
      throw error;
    }
  }

  async rewrap(wrapped: Buffer, keyId: string, context: EncryptionContext) {
    const { ReEncryptCommand } = await loadSdk();
    const out = await (await this.#kms()).send(
      new ReEncryptCommand({
        CiphertextBlob: wrapped,
        SourceKeyId: keyId,
        SourceEncryptionContext: context,
        DestinationKeyId: this.#keyId,
        DestinationEncryptionContext: context,
      }),
    );
    return { wrapped: bytes(out.CiphertextBlob, 'wrapped data key'), keyId: out.KeyId ?? this.#keyId };
  }
}
