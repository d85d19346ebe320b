import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalStorage } from './local.js';
import { createS3Storage, type S3StorageConfig } from './s3.js';
import type { ObjectStorage } from './types.js';

export type StorageConfig = { driver: 'local'; directory: string } | ({ driver: 's3' } & S3StorageConfig);

export function createObjectStorage(config: StorageConfig): ObjectStorage {
  return config.driver === 's3' ? createS3Storage(config) : createLocalStorage(config.directory);
}

/**
 * Reads a storage configuration from variables named `${prefix}…` (default `STORAGE_`), reporting
 * every problem at once. S3 credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, a profile, a pod identity…), never from these variables.
 */
export function storageConfigFromEnv(
  env: Record<string, string | undefined> = process.env,
  prefix = 'STORAGE_',
): StorageConfig {
  const get = (name: string) => env[`${prefix}${name}`] || undefined;
  const problems: string[] = [];
  const driver = get('DRIVER') ?? 'local';
  if (driver === 'local') {
    const directory = get('LOCAL_DIR');
    // In production a folder by default would be this pod's own: uploads the workers never see.
    if (!directory && env.NODE_ENV === 'production') {
      throw new Error(
        `Invalid object storage settings:\n- ${prefix}LOCAL_DIR is required in production with the local driver (a folder every API and worker shares), or set ${prefix}DRIVER=s3`,
      );
    }
    return { driver, directory: directory ?? join(tmpdir(), 'prospectflow-storage') };
  }
  if (driver !== 's3') problems.push(`${prefix}DRIVER must be "local" or "s3" (got "${driver}")`);
  const bucket = get('S3_BUCKET');
  if (!bucket) problems.push(`${prefix}S3_BUCKET is required with ${prefix}DRIVER=s3`);
  const sse = get('S3_SSE') ?? 'AES256';
  if (!['AES256', 'aws:kms', 'none'].includes(sse)) {
    problems.push(`${prefix}S3_SSE must be AES256, aws:kms or none (got "${sse}")`);
  } else if (sse === 'none' && env.NODE_ENV === 'production') {
    problems.push(`${prefix}S3_SSE=none is refused in production: uploads hold personal data`);
  }
  const pathStyle = get('S3_FORCE_PATH_STYLE');
  if (pathStyle && !['true', 'false', '1', '0'].includes(pathStyle)) {
    problems.push(`${prefix}S3_FORCE_PATH_STYLE must be true or false (got "${pathStyle}")`);
  }
  if (problems.length > 0) throw new Error(`Invalid object storage settings:\n- ${problems.join('\n- ')}`);
  const endpoint = get('S3_ENDPOINT');
  return {
    driver: 's3',
    bucket: bucket!,
    region: get('S3_REGION') ?? env.AWS_REGION ?? 'us-east-1',
    endpoint,
    forcePathStyle: pathStyle ? pathStyle === 'true' || pathStyle === '1' : Boolean(endpoint),
    serverSideEncryption: sse as S3StorageConfig['serverSideEncryption'],
    kmsKeyId: get('S3_KMS_KEY_ID'),
  };
}
