import { OneOf, Optional, Secret, Text, Url } from '@prospectflow/config';
import { storageConfigFromEnv } from './config.js';

type Field = ReturnType<typeof Text>;
type OptionalField = ReturnType<typeof Optional<Field>>;
type Required = 'DRIVER' | 'S3_SSE';
type Unset =
  | 'LOCAL_DIR'
  | 'S3_BUCKET'
  | 'S3_REGION'
  | 'S3_ENDPOINT'
  | 'S3_FORCE_PATH_STYLE'
  | 'S3_KMS_KEY_ID';
export type StorageEnvFields<P extends string> = { [K in Required as `${P}${K}`]: Field } & {
  [K in Unset as `${P}${K}`]: OptionalField;
} & { AWS_SECRET_ACCESS_KEY: OptionalField };

/**
 * The storage variables as @prospectflow/config fields, for a program's EnvObject (so `--help`
 * lists them and types are checked with the rest). `storageConfigFromEnv` reads the same names
 * and checks what depends on several of them (bucket required with s3, SSE in production).
 */
export function storageEnv<const P extends string = 'STORAGE_'>(
  prefix: P = 'STORAGE_' as P,
): StorageEnvFields<P> {
  return {
    [`${prefix}DRIVER`]: OneOf(['local', 's3'], { default: 'local', description: 'object storage driver' }),
    [`${prefix}LOCAL_DIR`]: Optional(Text({ description: 'local driver: folder shared by API and workers' })),
    [`${prefix}S3_BUCKET`]: Optional(Text({ description: 's3: bucket name (required with s3)' })),
    [`${prefix}S3_REGION`]: Optional(
      Text({ description: 's3: region (default AWS_REGION, else us-east-1)' }),
    ),
    [`${prefix}S3_ENDPOINT`]: Optional(Url(['http', 'https'], { description: 's3: S3-compatible endpoint' })),
    [`${prefix}S3_FORCE_PATH_STYLE`]: Optional(
      OneOf(['true', 'false', '1', '0'], { description: 's3: path-style URLs (default: with an endpoint)' }),
    ),
    [`${prefix}S3_SSE`]: OneOf(['AES256', 'aws:kms', 'none'], {
      default: 'AES256',
      description: 's3: server-side encryption (none refused in production)',
    }),
    [`${prefix}S3_KMS_KEY_ID`]: Optional(Text({ description: 's3: KMS key for aws:kms' })),
    // Credentials come from the AWS SDK chain; when they are static keys, the secret one is a
    // secret like ours (AWS issues 40 characters; a MinIO one must be as long in production).
    AWS_SECRET_ACCESS_KEY: Optional(
      Secret({ description: 's3: static secret key, when credentials are not a role or profile' }),
    ),
  } as unknown as StorageEnvFields<P>;
}

/**
 * The problems `storageConfigFromEnv` finds, as a list for a @prospectflow/config rule (so they are
 * reported with every other setting's); undefined when the storage settings are usable.
 */
export function storageProblems(
  env: Record<string, string | undefined>,
  prefix = 'STORAGE_',
): string[] | undefined {
  try {
    storageConfigFromEnv(env, prefix);
    return undefined;
  } catch (error) {
    // Never an empty list for a failure: a message without the bullet list is still a problem.
    const message = (error as Error).message;
    const bullets = message.split('\n- ').slice(1);
    return bullets.length > 0 ? bullets : [message];
  }
}
