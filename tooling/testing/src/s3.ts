import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** The part of s3rver's API used here (it ships no types). */
interface S3rverServer {
  middleware: unknown[];
  run(): Promise<unknown>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: Array<{ name: string }>;
}) => S3rverServer;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

/** Where an S3 wire-protocol server listens, and how to sign requests to it. */
export interface TestS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A bucket created for the run. */
  bucket: string;
}

export interface RunningS3 extends TestS3 {
  owned: boolean;
  stop(): Promise<void>;
}

export interface S3rverOptions {
  port?: number;
  buckets?: string[];
  /**
   * Runs before s3rver's own handlers (e.g. to record request headers in a test). Koa middleware
   * signature: (ctx, next) => Promise<void>.
   */
  middleware?: (
    ctx: { method: string; url: string; headers: Record<string, string | string[] | undefined> },
    next: () => Promise<void>,
  ) => Promise<void>;
}

type Middleware = NonNullable<S3rverOptions['middleware']>;
type KoaContext = Parameters<Middleware>[0] & {
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
};

const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The two multipart operations s3rver 3 lacks, on its own store (`<bucket>/._S3rver_uploads/<id>/`
 * with a `key` file and the parts): AbortMultipartUpload (DELETE /bucket/key?uploadId=…) and
 * ListMultipartUploads (GET /bucket?uploads), so the SDK's abort really removes the parts and a test
 * can list what is left, as on S3 or MinIO. Path-style requests only (what the tests use).
 */
function multipartOperations(directory: string): Middleware {
  return async (context, next) => {
    const ctx = context as KoaContext;
    const [bucket, ...rest] = ctx.path.split('/').filter((segment) => segment !== '');
    const uploads = join(directory, bucket ?? '', '._S3rver_uploads');
    if (ctx.method === 'DELETE' && typeof ctx.query.uploadId === 'string' && rest.length > 0) {
      const upload = join(uploads, ctx.query.uploadId.replace(/[^A-Za-z0-9]/g, ''));
      const found = await stat(upload).then(
        () => true,
        () => false,
      );
      ctx.type = 'application/xml';
      if (!found) {
        ctx.status = 404;
        ctx.body =
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>';
        return;
      }
      await rm(upload, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
      return;
    }
    if (ctx.method === 'GET' && rest.length === 0 && 'uploads' in ctx.query && bucket) {
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
      const ids = await readdir(uploads).catch(() => [] as string[]);
      const items: string[] = [];
      for (const id of ids.sort()) {
        const key = await readFile(join(uploads, id, 'key'), 'utf8').catch(() => undefined);
        if (key === undefined || !key.startsWith(prefix)) continue;
        const initiated = (await stat(join(uploads, id))).birthtime.toISOString();
        items.push(
          `<Upload><Key>${escapeXml(key)}</Key><UploadId>${id}</UploadId><Initiated>${initiated}</Initiated></Upload>`,
        );
      }
      ctx.status = 200;
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Bucket>${escapeXml(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
        `<Prefix>${escapeXml(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
        `${items.join('')}</ListMultipartUploadsResult>`;
      return;
    }
    await next();
  };
}

/**
 * Starts s3rver (the S3 wire-protocol server from npm) in this process on 127.0.0.1, storing in a
 * temp folder removed on stop. Signed requests are checked with its fixed account S3RVER/S3RVER
 * (except the two multipart operations added above, which s3rver lacks).
 */
export async function startS3rver(options: S3rverOptions = {}): Promise<RunningS3> {
  const directory = mkdtempSync(join(tmpdir(), 'pf-s3rver-'));
  const port = options.port ?? (await freePort());
  const buckets = options.buckets ?? ['prospectflow-test'];
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  server.middleware.unshift(multipartOperations(directory));
  if (options.middleware) server.middleware.unshift(options.middleware);
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    bucket: buckets[0]!,
    owned: true,
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * TEST_S3_URL (`http://KEY:SECRET@host:port/bucket`, e.g. a MinIO) when set, otherwise s3rver.
 */
export async function startTestS3(): Promise<RunningS3> {
  const url = process.env.TEST_S3_URL;
  if (!url) return await startS3rver();
  const parsed = new URL(url);
  return {
    endpoint: `${parsed.protocol}//${parsed.host}`,
    region: process.env.AWS_REGION ?? 'us-east-1',
    accessKeyId: decodeURIComponent(parsed.username),
    secretAccessKey: decodeURIComponent(parsed.password),
    bucket: parsed.pathname.replace(/^\//, '') || 'prospectflow-test',
    owned: false,
    async stop() {},
  };
}
