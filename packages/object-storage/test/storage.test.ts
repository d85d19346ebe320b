import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { CreateMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { type RunningS3, startS3rver } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLocalStorage,
  createS3Storage,
  ObjectNotFoundError,
  type ObjectStorage,
  storageConfigFromEnv,
} from '../src/index.js';

const MiB = 1024 * 1024;

async function incomplete(storage: ObjectStorage, prefix: string) {
  const found = [];
  for await (const upload of storage.incompleteUploads(prefix)) found.push(upload);
  return found;
}

/** Requests s3rver received: method, query and the headers the SDK sent. */
const seen: Array<{ method: string; url: string; headers: Record<string, unknown> }> = [];
let s3: RunningS3;
let folder: string;

beforeAll(async () => {
  s3 = await startS3rver({
    buckets: ['storage-test'],
    middleware: async (ctx, next) => {
      seen.push({ method: ctx.method, url: ctx.url, headers: { ...ctx.headers } });
      await next();
    },
  });
  folder = mkdtempSync(join(tmpdir(), 'pf-storage-'));
});

afterAll(async () => {
  await s3?.stop();
  rmSync(folder, { recursive: true, force: true });
});

/** A deterministic stream of `size` bytes produced in 64 KiB chunks (never held whole). */
function generated(size: number, seed = 7): { stream: Readable; sha256: string } {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let left = size;
  let n = seed;
  while (left > 0) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, left), n++ % 251);
    hash.update(chunk);
    chunks.push(chunk);
    left -= chunk.length;
  }
  return { stream: Readable.from(chunks), sha256: hash.digest('hex') };
}

const drivers: Array<[string, () => ObjectStorage]> = [
  [
    's3 (s3rver)',
    () =>
      createS3Storage({
        bucket: 'storage-test',
        region: s3.region,
        endpoint: s3.endpoint,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        partSize: 5 * MiB,
      }),
  ],
  ['local folder', () => createLocalStorage(folder)],
];

describe.each(drivers)('%s', (_name, make) => {
  it('puts, heads, gets, lists and deletes', async () => {
    const storage = make();
    const stored = await storage.put('imports/org-1/a.csv', 'name;email\nA;a@example.com\n', {
      contentType: 'text/csv',
      metadata: { 'file-name': 'a.csv' },
    });
    expect(stored.size).toBe(27);
    expect(stored.sha256).toBe(createHash('sha256').update('name;email\nA;a@example.com\n').digest('hex'));
    await storage.put('imports/org-1/b.csv', Buffer.from('x'));
    await storage.put('other/c.csv', 'y');

    const head = await storage.head('imports/org-1/a.csv');
    expect(head).toMatchObject({ size: 27, metadata: { 'file-name': 'a.csv' } });
    expect((await buffer(await storage.get('imports/org-1/a.csv'))).toString()).toContain('a@example.com');

    const keys: string[] = [];
    for await (const item of storage.list('imports/')) keys.push(item.key);
    expect(keys).toEqual(['imports/org-1/a.csv', 'imports/org-1/b.csv']);

    await storage.delete('imports/org-1/a.csv');
    await storage.delete('imports/org-1/a.csv'); // idempotent
    expect(await storage.head('imports/org-1/a.csv')).toBeNull();
    await expect(storage.get('imports/org-1/a.csv')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await storage.close();
  });

  it('streams a file larger than several parts and reads back the same bytes', async () => {
    const storage = make();
    const size = 12 * MiB + 12_345;
    const source = generated(size);
    const stored = await storage.put('big/file.bin', source.stream);
    expect(stored).toMatchObject({ size, sha256: source.sha256 });
    const back = createHash('sha256');
    let length = 0;
    for await (const chunk of await storage.get('big/file.bin')) {
      back.update(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    expect(length).toBe(size);
    expect(back.digest('hex')).toBe(source.sha256);
    await storage.delete('big/file.bin');
    await storage.close();
  });

  it('refuses keys that could leave the bucket or folder', async () => {
    const storage = make();
    for (const key of ['../escape', 'a/../../b', '/abs', 'a//b', '', 'sp ace']) {
      await expect(storage.put(key, 'x')).rejects.toThrow(/Invalid object key/);
    }
    await storage.close();
  });

  it('keeps nothing when the source stream fails midway', async () => {
    const storage = make();
    let sent = 0;
    const failing = new Readable({
      read() {
        if (sent >= 6) return this.destroy(new Error('client went away'));
        sent++;
        this.push(randomBytes(MiB));
      },
    });
    await expect(storage.put('broken/upload.csv', failing)).rejects.toThrow();
    expect(await storage.head('broken/upload.csv')).toBeNull();
    const left: string[] = [];
    for await (const item of storage.list('broken/')) left.push(item.key);
    expect(left).toEqual([]);
    // 6 MiB with 5 MiB parts: a multipart upload was started, and aborted (no parts left behind).
    expect(await incomplete(storage, 'broken/')).toEqual([]);
    await storage.close();
  });

  it('keeps nothing when the put is aborted by its signal midway', async () => {
    const storage = make();
    const controller = new AbortController();
    let sent = 0;
    const endless = new Readable({
      read() {
        sent++;
        if (sent === 7) controller.abort(new Error('request refused'));
        this.push(randomBytes(MiB));
      },
    });
    await expect(storage.put('aborted/upload.csv', endless, { signal: controller.signal })).rejects.toThrow();
    expect(await storage.head('aborted/upload.csv')).toBeNull();
    expect(await incomplete(storage, 'aborted/')).toEqual([]);
    await storage.close();
  });

  it('lists an upload left incomplete by a process that died (and only that)', async () => {
    const storage = make();
    expect(await incomplete(storage, 'nothing/')).toEqual([]);
    if (storage.driver === 'local') {
      mkdirSync(join(folder, 'died'), { recursive: true });
      writeFileSync(join(folder, 'died/upload.csv.partial-1-2'), 'half');
    } else {
      const client = new S3Client({
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      await client.send(new CreateMultipartUploadCommand({ Bucket: 'storage-test', Key: 'died/upload.csv' }));
      client.destroy();
    }
    const left = await incomplete(storage, 'died/');
    expect(left.map((u) => u.key)).toEqual(['died/upload.csv']);
    expect(left[0]!.uploadId === null).toBe(storage.driver === 'local');
    const keys: string[] = [];
    for await (const item of storage.list('died/')) keys.push(item.key);
    expect(keys).toEqual([]);
    await storage.close();
  });
});

describe('s3 specifics', () => {
  it('asks for server-side encryption and uses multipart for large bodies', async () => {
    const storage = createS3Storage({
      bucket: 'storage-test',
      region: s3.region,
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      partSize: 5 * MiB,
    });
    seen.length = 0;
    await storage.put('sse/big.bin', generated(11 * MiB).stream);
    await storage.put('sse/small.txt', 'hello');
    const create = seen.find((r) => r.method === 'POST' && r.url.includes('uploads'));
    expect(create?.headers['x-amz-server-side-encryption']).toBe('AES256');
    const parts = seen.filter((r) => r.method === 'PUT' && /partNumber=/.test(r.url));
    expect(parts.length).toBe(3);
    const single = seen.find((r) => r.method === 'PUT' && r.url.includes('/sse/small.txt?x-id=PutObject'));
    expect(single?.headers['x-amz-server-side-encryption']).toBe('AES256');
    // Requests are signed (SigV4), never anonymous.
    expect(String(single?.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=S3RVER\//);
    await storage.close();
  });

  it('a missing bucket is an error, never a missing object', async () => {
    const storage = createS3Storage({
      bucket: 'no-such-bucket',
      region: s3.region,
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const failure = await storage.get('imports/org/id.csv').catch((error: unknown) => error);
    expect(failure).not.toBeInstanceOf(ObjectNotFoundError);
    expect((failure as Error).name).toBe('NoSuchBucket');
    await storage.close();
  });

  it('fails with an unknown access key', async () => {
    const storage = createS3Storage({
      bucket: 'storage-test',
      region: s3.region,
      endpoint: s3.endpoint,
      credentials: { accessKeyId: 'NOBODY', secretAccessKey: s3.secretAccessKey },
    });
    await expect(storage.put('denied.txt', 'x')).rejects.toThrow(/access key/i);
    await storage.close();
  });
});

describe('local specifics', () => {
  it('writes objects readable by their owner only', async () => {
    const storage = createLocalStorage(folder);
    await storage.put('private/file.csv', 'secret');
    expect(statSync(join(folder, 'private/file.csv')).mode & 0o777).toBe(0o600);
  });
});

describe('storageConfigFromEnv', () => {
  it('defaults to the local driver', () => {
    expect(storageConfigFromEnv({ STORAGE_LOCAL_DIR: '/data/up' })).toEqual({
      driver: 'local',
      directory: '/data/up',
    });
  });

  it('reads S3 settings with a prefix and reports every problem at once', () => {
    expect(
      storageConfigFromEnv(
        {
          BACKUP_STORAGE_DRIVER: 's3',
          BACKUP_STORAGE_S3_BUCKET: 'b',
          BACKUP_STORAGE_S3_ENDPOINT: 'http://x:9000',
        },
        'BACKUP_STORAGE_',
      ),
    ).toMatchObject({ driver: 's3', bucket: 'b', forcePathStyle: true, serverSideEncryption: 'AES256' });
    expect(() =>
      storageConfigFromEnv({ NODE_ENV: 'production', STORAGE_DRIVER: 's3', STORAGE_S3_SSE: 'none' }),
    ).toThrow(/S3_BUCKET is required[\s\S]*refused in production/);
  });

  it('in production, takes the local driver only with a folder named for it', () => {
    // Nothing set: the default folder would be the pod's own, where no worker finds the upload.
    expect(() => storageConfigFromEnv({ NODE_ENV: 'production' })).toThrow(
      /STORAGE_LOCAL_DIR is required in production with the local driver/,
    );
    expect(() =>
      storageConfigFromEnv({ NODE_ENV: 'production', BACKUP_STORAGE_DRIVER: 'local' }, 'BACKUP_STORAGE_'),
    ).toThrow(/BACKUP_STORAGE_LOCAL_DIR is required/);
    expect(
      storageConfigFromEnv({
        NODE_ENV: 'production',
        STORAGE_DRIVER: 'local',
        STORAGE_LOCAL_DIR: '/shared/uploads',
      }),
    ).toEqual({ driver: 'local', directory: '/shared/uploads' });
    // Outside production the default folder stays (pnpm dev, tests).
    expect(storageConfigFromEnv({ NODE_ENV: 'development' })).toMatchObject({ driver: 'local' });
  });
});
