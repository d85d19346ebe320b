export { createObjectStorage, type StorageConfig, storageConfigFromEnv } from './config.js';
export { type StorageEnvFields, storageEnv, storageProblems } from './env.js';
export { createLocalStorage } from './local.js';
export { createS3Storage, type S3StorageConfig } from './s3.js';
export {
  assertKey,
  type IncompleteUpload,
  type ObjectInfo,
  ObjectNotFoundError,
  type ObjectStorage,
  type PutOptions,
  type StoredObject,
} from './types.js';
