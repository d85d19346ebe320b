/**
 * Memory of the API while it streams an upload into object storage (not a test; ratios only mean
 * something within a run):
 *   pnpm --filter @prospectflow/ingest-api bench:upload-memory [--mb=100] [--baseline-mb=10] [--driver=s3|local]
 * PostgreSQL: BENCH_DATABASE_URL / TEST_DATABASE_URL (superuser) or an embedded PostgreSQL 18.
 *
 * The API runs as its own process (test/imports/api-replica.ts, the real app) so its RSS is its
 * own; s3rver runs in this process. Each CSV is generated while it is sent (chunked, no
 * Content-Length), and the API process's RSS is sampled from /proc every 20 ms. Baseline in the
 * same run: a smaller upload (default 10 MB) first. Peak RSS of the large upload over the
 * baseline's ≈ 1 means memory does not grow with the file (the bound is the multipart buffers,
 * about 2 parts of 8 MiB, plus what V8 keeps before collecting); a spool-free API also leaves its
 * TMPDIR empty (checked).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DevIssuer, loadAuthConfig } from '@prospectflow/auth-core';
import { ROLES, roleUrl } from '@prospectflow/db-schema';
import { prepareTestTemplate } from '@prospectflow/db-schema/testing';
import {
  freePort,
  startS3rver,
  startTestPostgres,
  startTestRedis,
  withDatabase,
} from '@prospectflow/testing';
import pg from 'pg';
import { csvStream } from './import-data.js';

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const MB = 1024 * 1024;
const LARGE = Number(arg('mb', '100')) * MB;
const SMALL = Number(arg('baseline-mb', '10')) * MB;
const DRIVER = arg('driver', 's3');
/** Bytes per generated row (import-data's line()), to size a file. */
const ROW_BYTES = 150;

if (process.env.BENCH_DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.BENCH_DATABASE_URL;
const postgres = await startTestPostgres();
const redis = await startTestRedis();
const s3 = await startS3rver({ buckets: ['bench-uploads'] });
const database = `pf_bench_uploads_${Date.now().toString(36)}`;
const admin = new pg.Pool({ connectionString: postgres.adminUrl, max: 2 });
await admin.query(`CREATE DATABASE "${database}"`);
const adminUrl = withDatabase(postgres.adminUrl, database);
await prepareTestTemplate(postgres.adminUrl, adminUrl);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bench-upload-tmp-'));
const localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bench-upload-storage-'));
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bench-upload-key-'));
const port = await freePort();

const env: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  TMPDIR: tmp,
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  PORT: String(port),
  FASTIFY_AUTOLOAD_TYPESCRIPT: '1',
  DATABASE_URL: roleUrl(adminUrl, ROLES.app),
  REDIS_URL: redis.url,
  AUTH_MODE: 'dev',
  COGNITO_TOKEN_USE: 'both',
  AUTH_DEV_KEY_DIR: keyDir,
  RATE_LIMIT_MAX: '1000000',
  RATE_LIMIT_NAMESPACE: `pf:bench:${randomUUID()}:rl:`,
  IMPORT_MAX_BYTES: String(2 * LARGE),
  ...(DRIVER === 's3'
    ? {
        STORAGE_DRIVER: 's3',
        STORAGE_S3_BUCKET: 'bench-uploads',
        STORAGE_S3_ENDPOINT: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      }
    : { STORAGE_DRIVER: 'local', STORAGE_LOCAL_DIR: localDir }),
};
const API_DIR = fileURLToPath(new URL('../', import.meta.url));
const child = spawn(process.execPath, ['--import', 'tsx', 'test/imports/api-replica.ts'], {
  cwd: API_DIR,
  env,
  stdio: ['ignore', 'ignore', 'inherit'],
});
// The API never outlives the bench, even when the bench fails.
process.once('exit', () => child.kill('SIGKILL'));
const api = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if ((await fetch(`${api}/health`).catch(() => undefined))?.ok) break;
  if (i > 1800) throw new Error('the API did not start');
  await new Promise((resolve) => setTimeout(resolve, 100));
}

const issuer = DevIssuer.fromConfig(loadAuthConfig({ ...env, AUTH_MODE: 'dev' }), env);
const token = issuer.mint({ email: 'bench@bench.example', type: 'id' });
const created = await fetch(`${api}/v1/organisations`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'bench' }),
});
if (created.status !== 201)
  throw new Error(`POST /v1/organisations: ${created.status} ${await created.text()}`);
const organisationId = ((await created.json()) as { id: string }).id;

function rss(): number {
  const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Uploads a generated CSV of about `bytes`; the API's RSS before and at its peak. */
async function upload(bytes: number, offset: number) {
  global.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const before = rss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 20);
  const started = Date.now();
  let sent = 0;
  const status = await new Promise<number>((resolve, reject) => {
    const request = http.request(
      `${api}/v1/imports`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'x-organisation-id': organisationId,
          'content-type': 'text/csv',
          'transfer-encoding': 'chunked',
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    const rows = Math.ceil(bytes / ROW_BYTES);
    const source = csvStream(rows, `-${offset}`);
    source.on('data', (chunk: Buffer | string) => {
      sent += chunk.length;
    });
    source.pipe(request);
  });
  clearInterval(sampler);
  return { status, sent, seconds: (Date.now() - started) / 1000, before, peak };
}

const mb = (bytes: number) => (bytes / MB).toFixed(1);
const small = await upload(SMALL, 1);
const large = await upload(LARGE, 2);
const rows = Object.fromEntries(
  [
    ['baseline', small],
    ['large', large],
  ].map(([name, r]) => {
    const run = r as Awaited<ReturnType<typeof upload>>;
    return [
      `${name} (${mb(run.sent)} MB)`,
      {
        status: run.status,
        seconds: Number(run.seconds.toFixed(1)),
        'RSS before MB': Number(mb(run.before)),
        'peak RSS MB': Number(mb(run.peak)),
        'growth MB': Number(mb(run.peak - run.before)),
      },
    ];
  }),
);
console.log(
  `PostgreSQL ${postgres.serverVersion}${postgres.embedded ? ' (embedded)' : ''}; driver ${DRIVER}; API in its own process`,
);
console.table(rows);
const growth = (run: typeof small) => Math.max(run.peak - run.before, 1);
console.log(
  `peak RSS large / baseline = ${(large.peak / small.peak).toFixed(2)}; ` +
    `peak RSS growth large / baseline = ${(growth(large) / growth(small)).toFixed(2)} for a file ` +
    `${(large.sent / small.sent).toFixed(1)}× larger (1 = memory independent of the file size); ` +
    `large upload: peak RSS ${mb(large.peak)} MB, +${mb(large.peak - large.before)} MB = ` +
    `${((large.peak - large.before) / large.sent).toFixed(3)} × the file; ` +
    `API TMPDIR entries after both uploads (tsx's cache aside): ${fs.readdirSync(tmp).filter((n) => !n.startsWith('tsx')).length}`,
);

child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
await admin.end();
await s3.stop();
await redis.stop();
await postgres.stop();
for (const dir of [tmp, localDir, keyDir]) fs.rmSync(dir, { recursive: true, force: true });
