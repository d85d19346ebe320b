import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import type { EncryptionContext } from '../context.js';
import { DecryptionError, KeyUnavailableError } from '../gcm.js';
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

/** KMS errors that mean the key itself cannot be used (not a network or permission hiccup). */
const KEY_UNUSABLE = new Set([
  'NotFoundException',
  'DisabledException',
  'KMSInvalidStateException',
  'KeyUnavailableException',
]);

/** KMS errors that mean this wrapped key does not open under the key or context given. */
const DOES_NOT_OPEN = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/** A wrapped key that does not open → DecryptionError, an unusable key → KeyUnavailableError. */
function translated(error: unknown): unknown {
  const name = (error as { name?: string }).name ?? '';
  if (DOES_NOT_OPEN.has(name))
    return new DecryptionError(`KMS refused to unwrap the data key: ${name} (wrong context or key)`);
  if (KEY_UNUSABLE.has(name))
    return new KeyUnavailableError(`KMS cannot use the key: ${name} (${(error as Error).message})`);
  return error;
}

const KEY_ARN = /^arn:aws[a-z-]*:kms:[^:]+:\d+:key\//;

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
  #activeArn: Promise<string> | undefined;

  constructor(options: KmsKeyProviderOptions) {
    if (!options.keyId) throw new Error('the KMS key id is required');
    this.#keyId = options.keyId;
    this.#config = options.client ?? {};
  }

  /**
   * The configured key's ARN — the form KMS answers with and each secret stores. An alias or bare
   * key id is resolved once with DescribeKey (an alias moved to a new key takes a restart).
   */
  activeKeyId(): Promise<string> {
    this.#activeArn ??= KEY_ARN.test(this.#keyId)
      ? Promise.resolve(this.#keyId)
      : this.#describeArn().catch((error: unknown) => {
          this.#activeArn = undefined;
          throw error;
        });
    return this.#activeArn;
  }

  async #describeArn(): Promise<string> {
    const { DescribeKeyCommand } = await loadSdk();
    try {
      const out = await (await this.#kms()).send(new DescribeKeyCommand({ KeyId: this.#keyId }));
      const arn = out.KeyMetadata?.Arn;
      if (!arn) throw new Error(`KMS DescribeKey returned no ARN for ${this.#keyId}`);
      return arn;
    } catch (error) {
      throw translated(error);
    }
  }

  #kms(): Promise<KMSClient> {
    this.#client ??= loadSdk().then((m) => new m.KMSClient(this.#config));
    return this.#client;
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const { GenerateDataKeyCommand } = await loadSdk();
    const out = await (await this.#kms())
      .send(
        new GenerateDataKeyCommand({ KeyId: this.#keyId, KeySpec: 'AES_256', EncryptionContext: context }),
      )
      .catch((error: unknown) => {
        throw translated(error);
      });
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
      throw translated(error);
    }
  }

  async rewrap(wrapped: Buffer, keyId: string, context: EncryptionContext) {
    const { ReEncryptCommand } = await loadSdk();
    const out = await (await this.#kms())
      .send(
        new ReEncryptCommand({
          CiphertextBlob: wrapped,
          SourceKeyId: keyId,
          SourceEncryptionContext: context,
          DestinationKeyId: this.#keyId,
          DestinationEncryptionContext: context,
        }),
      )
      .catch((error: unknown) => {
        throw translated(error);
      });
    return { wrapped: bytes(out.CiphertextBlob, 'wrapped data key'), keyId: out.KeyId ?? this.#keyId };
  }
}
