import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  paginateListObjectsV2,
  S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { HashingStream, toReadable } from './hashing.js';
import { assertKey, ObjectNotFoundError, type ObjectStorage } from './types.js';

export interface S3StorageConfig {
  bucket: string;
  region: string;
  /** For S3-compatible servers (MinIO, s3rver…); unset for AWS. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which S3-compatible servers usually need. */
  forcePathStyle?: boolean;
  /** Explicit credentials; otherwise the AWS SDK's default chain (AWS_* variables, profile, IRSA…). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Server-side encryption of every object: SSE-S3 (`AES256`, default), SSE-KMS, or `none`. */
  serverSideEncryption?: 'AES256' | 'aws:kms' | 'none';
  kmsKeyId?: string;
  /** Multipart part size (bytes, ≥ 5 MiB); memory used by an upload is about partSize × queueSize. */
  partSize?: number;
  queueSize?: number;
}

const MiB = 1024 * 1024;

/**
 * GetObject names a missing key `NoSuchKey`; a missing bucket (a wrong setting, a deleted bucket)
 * is a 404 too, `NoSuchBucket`, and must not pass for a missing object — an import would be
 * failed for good as `upload_missing`. A HEAD answer has no body: any 404 there reads as absent.
 */
function isMissingObject(error: unknown, method: 'get' | 'head'): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.name === 'NoSuchKey') return true;
  return method === 'head' && (e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404);
}

/**
 * An S3 bucket through the official AWS SDK v3. Uploads stream through lib-storage's multipart
 * Upload (parts of `partSize`, `queueSize` in flight), so memory stays bounded whatever the size.
 */
export function createS3Storage(config: S3StorageConfig): ObjectStorage {
  const client = new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle ?? Boolean(config.endpoint),
    credentials: config.credentials,
    // Newer SDKs add CRC32 trailers (aws-chunked bodies) by default; many S3-compatible servers
    // do not understand them. Checksums are sent where the API requires them; we hash ourselves.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const sse = config.serverSideEncryption ?? 'AES256';
  const encryption =
    sse === 'none'
      ? {}
      : {
          ServerSideEncryption: sse as ServerSideEncryption,
          ...(sse === 'aws:kms' && config.kmsKeyId ? { SSEKMSKeyId: config.kmsKeyId } : {}),
        };
  const Bucket = config.bucket;

  return {
    driver: 's3',
    async put(key, body, options = {}) {
      assertKey(key);
      const hashing = new HashingStream();
      const source = toReadable(body);
      source.once('error', (error) => hashing.destroy(error));
      source.pipe(hashing);
      const upload = new Upload({
        client,
        params: {
          Bucket,
          Key: key,
          Body: hashing,
          ContentType: options.contentType,
          Metadata: options.metadata,
          ...encryption,
        },
        partSize: Math.max(config.partSize ?? 8 * MiB, 5 * MiB),
        queueSize: config.queueSize ?? 2,
        leavePartsOnError: false,
      });
      // Aborting fails the body rather than calling upload.abort(): lib-storage then sends
      // AbortMultipartUpload before done() rejects (abort() rejects first and aborts later).
      const onAbort = () => hashing.destroy(options.signal?.reason ?? new Error('Upload aborted'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await upload.done();
      } catch (error) {
        source.destroy();
        // Never leave an incomplete multipart upload (its parts are billed and invisible).
        const UploadId = (upload as unknown as { uploadId?: string }).uploadId;
        if (UploadId) {
          await client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId })).catch(() => {});
        }
        throw error;
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
      }
      return { key, size: hashing.bytes, sha256: hashing.digest() };
    },
    async get(key: string, options: { signal?: AbortSignal } = {}) {
      assertKey(key);
      try {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: key }), {
          abortSignal: options.signal,
        });
        return out.Body as Readable;
      } catch (error) {
        if (isMissingObject(error, 'get')) throw new ObjectNotFoundError(key);
        throw error;
      }
    },
    async head(key) {
      assertKey(key);
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return {
          key,
          size: out.ContentLength ?? 0,
          lastModified: out.LastModified ?? new Date(0),
          metadata: out.Metadata ?? {},
        };
      } catch (error) {
        if (isMissingObject(error, 'head')) return null;
        throw error;
      }
    },
    async delete(key: string) {
      assertKey(key);
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
    async *list(prefix = '') {
      for await (const page of paginateListObjectsV2({ client }, { Bucket, Prefix: prefix || undefined })) {
        for (const item of page.Contents ?? []) {
          if (!item.Key) continue;
          yield { key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0) };
        }
      }
    },
    async *incompleteUploads(prefix = '') {
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      for (;;) {
        const page = await client.send(
          new ListMultipartUploadsCommand({ Bucket, Prefix: prefix || undefined, KeyMarker, UploadIdMarker }),
        );
        for (const item of page.Uploads ?? []) {
          if (!item.Key) continue;
          yield { key: item.Key, uploadId: item.UploadId ?? null, initiated: item.Initiated ?? new Date(0) };
        }
        if (!page.IsTruncated) return;
        KeyMarker = page.NextKeyMarker;
        UploadIdMarker = page.NextUploadIdMarker;
      }
    },
    async close() {
      client.destroy();
    },
  };
}
