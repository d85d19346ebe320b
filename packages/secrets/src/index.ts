export { contextBytes, type EncryptionContext, encryptionContext, type SecretBinding } from './context.js';
export { keyProviderFromEnv, SECRETS_ENV } from './from-env.js';
export { DecryptionError, KeyUnavailableError } from './gcm.js';
export type { DataKey, KeyProvider } from './key-provider.js';
export { KmsKeyProvider, type KmsKeyProviderOptions } from './providers/kms.js';
export { LocalKeyProvider, type LocalKeyRing } from './providers/local.js';
export { type SealedSecret, SecretBox } from './secret-box.js';
