import type { Readable } from 'node:stream';

/** What a stored object is. */
export interface StoredObject {
  key: string;
  /** Bytes written. */
  size: number;
  /** Hex SHA-256 of the bytes, computed while they streamed through. */
  sha256: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  metadata: Record<string, string>;
}

export interface IncompleteUpload {
  key: string;
  /** The S3 multipart upload id; null for the local driver. */
  uploadId: string | null;
  initiated: Date;
}

export interface PutOptions {
  contentType?: string;
  /** Small string metadata (S3 `x-amz-meta-*`); ASCII keys and values. */
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * One interface for every driver. Keys are relative paths (`imports/<org>/<id>.csv`): segments of
 * letters, digits and `._-=`, no `..`, so the local driver cannot be steered out of its folder.
 */
export interface ObjectStorage {
  readonly driver: 's3' | 'local';
  /** Streams `body` to `key` (replacing it); resolves once the object is complete and durable. */
  put(key: string, body: Readable | Buffer | string, options?: PutOptions): Promise<StoredObject>;
  /** A stream of the object's bytes; rejects with ObjectNotFoundError when there is none. */
  get(key: string, options?: { signal?: AbortSignal }): Promise<Readable>;
  /** Size, date and metadata, or null when there is no such object. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Removes the object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix?: string): AsyncIterable<Omit<ObjectInfo, 'metadata'>>;
  /**
   * Uploads started and neither completed nor aborted under `prefix`: S3 multipart uploads
   * (ListMultipartUploads; their parts are billed but invisible) or the local driver's partial
   * files. Empty unless a process died mid-upload — `put` aborts what it does not complete.
   */
  incompleteUploads(prefix?: string): AsyncIterable<IncompleteUpload>;
  /** Releases sockets (S3) — the storage is unusable afterwards. */
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  readonly code = 'object_not_found';
  constructor(readonly key: string) {
    super(`No stored object at "${key}"`);
    this.name = 'ObjectNotFoundError';
  }
}

const KEY_SEGMENT = /^[A-Za-z0-9._=-]+$/;

/** Throws on keys that are not plain relative paths (see ObjectStorage). */
export function assertKey(key: string): void {
  const segments = key.split('/');
  const ok =
    key.length > 0 &&
    key.length <= 1024 &&
    segments.every((s) => KEY_SEGMENT.test(s) && s !== '.' && s !== '..');
  if (!ok) throw new TypeError(`Invalid object key "${key}": use segments of [A-Za-z0-9._=-] separated by /`);
}
