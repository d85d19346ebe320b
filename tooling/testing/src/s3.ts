import { mkdtempSync, rmSync } from 'node:fs';
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

/**
 * Starts s3rver (the S3 wire-protocol server from npm) in this process on 127.0.0.1, storing in a
 * temp folder removed on stop. Signed requests are checked with its fixed account S3RVER/S3RVER.
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
