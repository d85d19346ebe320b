import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createS3Storage } from '@prospectflow/object-storage';
import { freePort, type RunningS3, startTestS3 } from '@prospectflow/testing';
import { CHILD_GUARD_ARGS, watchChildStderr } from '@prospectflow/testing/setup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { PHAROW_HEADER, pharowRow, toCsv } from './helpers.js';
import { type ImportBody, multipart } from './http-helpers.js';
import { spawnWorker, type WorkerProcess } from './worker-process.js';

/**
 * The deployment shape on one machine: two API processes and two worker processes that share
 * nothing but PostgreSQL and an S3 bucket (s3rver, or TEST_S3_URL). An upload received by one
 * replica is imported by whichever worker claims it and reported by the other replica.
 */
const API_DIR = fileURLToPath(new URL('../../', import.meta.url));

let t: TestApp;
let s3: RunningS3;
const apis: Array<{ child: ChildProcess; url: string }> = [];
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  s3 = await startTestS3();
  const bucket = {
    STORAGE_DRIVER: 's3',
    STORAGE_S3_BUCKET: s3.bucket,
    STORAGE_S3_ENDPOINT: s3.endpoint,
    STORAGE_S3_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
  // The in-process app only signs users up; the replicas below serve the imports.
  t = await buildTestApp({ label: 'imports_replicas', env: { ...bucket, RATE_LIMIT_MAX: '1000000' } });
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', ...CHILD_GUARD_ARGS, 'test/imports/api-replica.ts'],
      {
        cwd: API_DIR,
        // FASTIFY_AUTOLOAD_TYPESCRIPT: the route modules are loaded from src/ through tsx.
        env: {
          PATH: process.env.PATH,
          ...t.env,
          HOST: '127.0.0.1',
          PORT: String(port),
          FASTIFY_AUTOLOAD_TYPESCRIPT: '1',
        } as NodeJS.ProcessEnv,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    // An overlapping pg query in a replica fails the test (the guard prints it on stderr).
    watchChildStderr(child.stderr);
    apis.push({ child, url: `http://127.0.0.1:${port}` });
  }
  for (const api of apis) {
    for (let i = 0; ; i++) {
      const ready = await fetch(`${api.url}/health`).catch(() => undefined);
      if (ready?.ok) break;
      if (i > 1200) throw new Error(`API replica ${api.url} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  workers.push(spawnWorker(t, { IMPORT_SLOTS: '1' }), spawnWorker(t, { IMPORT_SLOTS: '1' }));
  // Both workers are polling for imports before the first upload.
  for (let i = 0; ; i++) {
    const { rows } = await t.admin.query(
      `SELECT count(DISTINCT client_port)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'prospectflow-worker-imports'`,
    );
    if (rows[0].n >= 2) break;
    if (i > 1200) throw new Error('the workers did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 180_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  for (const api of apis) {
    api.child.kill('SIGTERM');
    await new Promise((resolve) =>
      api.child.exitCode !== null ? resolve(null) : api.child.once('exit', resolve),
    );
  }
  await t?.close();
  await s3?.stop();
});

async function call(api: string, user: TestUser, path: string, init: RequestInit = {}) {
  return await fetch(`${api}${path}`, {
    ...init,
    headers: { ...user.headers, ...(init.headers as Record<string, string>) },
  });
}

describe('two API replicas and two workers sharing one bucket', () => {
  it('imports uploaded to either replica are run by the workers and reported by the other replica', async () => {
    const user = await t.signUp();
    const files = Array.from({ length: 6 }, (_, n) =>
      toCsv([PHAROW_HEADER, ...Array.from({ length: 2_000 }, (_, i) => pharowRow(n * 10_000 + i))]),
    );
    const accepted: string[] = [];
    for (const [n, file] of files.entries()) {
      const body = multipart(file, {}, `part-${n}.csv`);
      const response = await call(apis[n % 2]!.url, user, '/v1/imports', {
        method: 'POST',
        body: body.payload,
        headers: body.headers,
      });
      expect(response.status, await response.clone().text()).toBe(202);
      accepted.push(((await response.json()) as ImportBody).id);
    }
    // The uploads are in the bucket, not on either replica's disk.
    const { rows: stored } = await t.admin.query<{ storage_key: string }>(
      'SELECT storage_key FROM crm.imports WHERE id = ANY ($1::uuid[])',
      [accepted],
    );
    expect(stored.every((r) => r.storage_key.startsWith(`imports/${user.organisationId}/`))).toBe(true);

    for (const [n, id] of accepted.entries()) {
      for (;;) {
        const response = await call(apis[(n + 1) % 2]!.url, user, `/v1/imports/${id}`);
        expect(response.status).toBe(200);
        const body = (await response.json()) as ImportBody;
        if (body.status === 'succeeded' || body.status === 'failed') {
          expect(body).toMatchObject({ status: 'succeeded', counts: { inserted: 2_000 } });
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const { rows } = await t.admin.query<{ run_by: string }>(
      'SELECT DISTINCT run_by FROM crm.imports WHERE id = ANY ($1::uuid[])',
      [accepted],
    );
    // Both workers took imports (each runs one at a time, so six imports spread over the two).
    expect(rows).toHaveLength(2);
    const { rows: positions } = await t.admin.query(
      'SELECT count(*)::int AS n FROM crm.positions WHERE organisation_id = $1',
      [user.organisationId],
    );
    expect(positions[0].n).toBe(12_000);
    // Each upload is removed from the bucket once imported.
    const storage = createS3Storage({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const left: string[] = [];
    for await (const item of storage.list(`imports/${user.organisationId}/`)) left.push(item.key);
    await storage.close();
    expect(left).toEqual([]);
  }, 300_000);
});
