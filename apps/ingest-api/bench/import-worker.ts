/**
 * Imports run by a worker process, in one run (not a test; ratios only mean something within a run):
 *   pnpm --filter @prospectflow/ingest-api bench:imports [--rows=1000000] [--no-memory]
 *     [BENCH_DURATION=10] [BENCH_CONNECTIONS=16]
 * PostgreSQL: BENCH_DATABASE_URL / TEST_DATABASE_URL (superuser) or an embedded PostgreSQL 18.
 *
 * 1. Reads under imports: p99 of GET /v1/companies (API listening, autocannon) with no import, then
 *    while ten 20k-row imports (ten organisations) run in a worker process (IMPORT_SLOTS=10):
 *    ratio loaded / idle, and whether any request failed.
 * 2. Memory in the worker: one N-row CSV (default 1,000,000) uploaded through the API and run by
 *    the worker; the worker process's RSS is sampled from /proc (peak − RSS before the import)
 *    and compared with the file's size.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ROLES, roleUrl } from '@prospectflow/db-schema';
import { prepareTestTemplate } from '@prospectflow/db-schema/testing';
import { startTestPostgres, startTestRedis, withDatabase } from '@prospectflow/testing';
import autocannon from 'autocannon';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { csvStream, HEADER, line } from './import-data.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const IMPORTS = 10;
const IMPORT_ROWS = 20_000;
const MEMORY_ROWS = Number(process.argv.find((a) => a.startsWith('--rows='))?.slice(7) ?? 1_000_000);
const MEMORY = !process.argv.includes('--no-memory');

if (process.env.BENCH_DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.BENCH_DATABASE_URL;
const postgres = await startTestPostgres();
const redis = await startTestRedis();
const database = `pf_bench_imports_${Date.now().toString(36)}`;
const admin = new pg.Pool({ connectionString: postgres.adminUrl, max: 2 });
await admin.query(`CREATE DATABASE "${database}"`);
const adminUrl = withDatabase(postgres.adminUrl, database);
await prepareTestTemplate(postgres.adminUrl, adminUrl);
const db = new pg.Pool({ connectionString: adminUrl, max: 2 });
const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bench-storage-'));

const env = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  DATABASE_URL: roleUrl(adminUrl, ROLES.app),
  DATABASE_POOL_MAX: '10',
  REDIS_URL: redis.url,
  AUTH_MODE: 'dev',
  AUTH_DEV_KEY_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bench-key-')),
  RATE_LIMIT_MAX: '1000000',
  RATE_LIMIT_NAMESPACE: `pf:bench:${randomUUID()}:rl:`,
  STORAGE_DRIVER: 'local',
  STORAGE_LOCAL_DIR: storageDir,
  // The 1M-row file (~120 MB) is above the default upload limit.
  IMPORT_MAX_BYTES: String(2 * 1024 * 1024 * 1024),
};
const app = await buildApp(loadConfig(env), { authKeyPrefix: `pf:bench:${randomUUID()}:auth` });
const api = await app.listen({ host: '127.0.0.1', port: 0 });
const issuer = app.authServices.devIssuer!;

async function organisation(name: string) {
  const token = issuer.mint({ email: `${name}@bench.example` });
  const created = await fetch(`${api}/v1/organisations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const id = ((await created.json()) as { id: string }).id;
  return { id, headers: { authorization: `Bearer ${token}`, 'x-organisation-id': id } };
}

const reader = await organisation('reader');
await db.query(
  `INSERT INTO crm.companies (organisation_id, name, domain, city)
   SELECT $1, 'Company ' || g, 'c' || g || '.example', 'Lyon' FROM generate_series(1, 5000) AS g`,
  [reader.id],
);
const importers = await Promise.all(Array.from({ length: IMPORTS }, (_, i) => organisation(`importer${i}`)));

// The worker process: apps/worker as deployed, all imports of the run at once.
const worker = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
  cwd: fileURLToPath(new URL('../../worker/', import.meta.url)),
  env: {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    WORKER_DATABASE_URL: roleUrl(adminUrl, ROLES.worker),
    WORKER_METRICS_PORT: '0',
    WORKER_RETENTION_INTERVAL_MS: '0',
    WORKER_POLL_INTERVAL_MS: '200',
    IMPORT_SLOTS: String(IMPORTS),
    STORAGE_DRIVER: 'local',
    STORAGE_LOCAL_DIR: storageDir,
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
// Never leave the worker behind, whatever happens to this script.
process.on('exit', () => worker.kill('SIGKILL'));
const rssOf = () => {
  const status = fs.readFileSync(`/proc/${worker.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
};

async function upload(headers: Record<string, string>, body: Buffer | string | Readable): Promise<string> {
  const response = await fetch(`${api}/v1/imports`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'text/csv' },
    body: body instanceof Readable ? (Readable.toWeb(body) as ReadableStream) : body,
    ...(body instanceof Readable ? { duplex: 'half' } : {}),
  } as RequestInit);
  if (response.status !== 202) throw new Error(`upload: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

async function finished(ids: string[]): Promise<Record<string, number>> {
  for (;;) {
    const { rows } = await db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM crm.imports WHERE id = ANY ($1::uuid[]) GROUP BY status`,
      [ids],
    );
    const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    if ((byStatus.succeeded ?? 0) + (byStatus.failed ?? 0) === ids.length) return byStatus;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function load(seconds: number) {
  const result = await autocannon({
    url: `${api}/v1/companies`,
    connections: CONNECTIONS,
    duration: seconds,
    headers: reader.headers,
  });
  return {
    'req/s': Math.round(result.requests.average),
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

// 1. Reads while ten imports run.
await load(2); // warm-up
const idle = await load(DURATION);
// Distinct rows per organisation file (offsets), one company per four contacts.
const files = importers.map(
  (_, n) => HEADER + Array.from({ length: IMPORT_ROWS }, (_, i) => line(n * 100_000 + i)).join(''),
);
const started = Date.now();
const ids = await Promise.all(importers.map((o, n) => upload(o.headers, files[n]!)));
let maxRunning = 0;
const watch = setInterval(() => {
  void db
    .query(`SELECT count(*)::int AS n FROM outreach.tasks WHERE type = 'run_import' AND status = 'running'`)
    .then(({ rows }) => {
      maxRunning = Math.max(maxRunning, rows[0].n);
    });
}, 200);
const loaded = await load(DURATION);
const outcome = await finished(ids);
clearInterval(watch);
const importSeconds = (Date.now() - started) / 1000;

console.log(
  `PostgreSQL ${postgres.serverVersion}${postgres.embedded ? ' (embedded)' : ''}; GET /v1/companies (page of 50 of 5000), ` +
    `${CONNECTIONS} connections, ${DURATION}s each; ${IMPORTS} imports × ${IMPORT_ROWS} rows in a worker process ` +
    `(IMPORT_SLOTS=${IMPORTS}; at most ${maxRunning} running at once; ${JSON.stringify(outcome)} after ${importSeconds.toFixed(1)} s)`,
);
console.table({ 'no import': idle, [`${IMPORTS} imports running`]: loaded });
console.log(
  `p99 under imports / idle = ${(loaded['p99 ms'] / Math.max(idle['p99 ms'], 1)).toFixed(2)}; ` +
    `failed requests under imports: ${loaded.errors + loaded.non2xx}`,
);

// 2. Peak RSS of the worker importing a large file.
if (MEMORY) {
  const file = path.join(os.tmpdir(), `pf-bench-upload-${process.pid}.csv`);
  await pipeline(csvStream(MEMORY_ROWS), fs.createWriteStream(file));
  const fileBytes = fs.statSync(file).size;
  const big = await organisation('big');
  const baseline = rssOf();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssOf());
  }, 25);
  const t0 = Date.now();
  const id = await upload(big.headers, fs.createReadStream(file));
  const accepted = (Date.now() - t0) / 1000;
  const status = await finished([id]);
  clearInterval(sampler);
  fs.rmSync(file);
  const { rows } = await db.query(
    `SELECT rows_total, inserted, extract(epoch FROM finished_at - started_at)::float AS seconds FROM crm.imports WHERE id = $1`,
    [id],
  );
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
  console.log(
    `memory: ${MEMORY_ROWS} rows (${mb(fileBytes)} MB) ${JSON.stringify(status)}; upload accepted in ${accepted.toFixed(1)} s, ` +
      `import ${rows[0].seconds.toFixed(1)} s (${Math.round(rows[0].rows_total / rows[0].seconds)} rows/s); worker RSS before ` +
      `${mb(baseline)} MB, peak ${mb(peak)} MB: +${mb(peak - baseline)} MB = ${((peak - baseline) / fileBytes).toFixed(2)} × the file`,
  );
}

worker.kill('SIGTERM');
await new Promise((resolve) => worker.once('exit', resolve));
await app.close();
await db.end();
await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
await admin.end();
await redis.stop();
await postgres.stop();
fs.rmSync(storageDir, { recursive: true, force: true });
