import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLocalStorage, createS3Storage, type ObjectStorage } from '@prospectflow/object-storage';
import { type RunningS3, startS3rver } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { PHAROW_HEADER, pharowRow, toCsv } from './helpers.js';
import { multipart, waitForImport } from './http-helpers.js';

/**
 * Uploads stream from the request straight into object storage — an S3 multipart upload with
 * server-side encryption (s3rver) or the local folder driver — never onto the API host's disk.
 * Over the byte limit, with a header that can never import, or when the client goes away, the
 * upload is aborted: no object, no incomplete multipart upload, no import row.
 */
const MiB = 1024 * 1024;
const LIMIT = 20 * MiB;

/** Requests s3rver received (method, url, headers), to see the multipart upload and its SSE. */
const seen: Array<{ method: string; url: string; headers: Record<string, unknown> }> = [];
let s3: RunningS3;
/** TMPDIR of this process while the tests run: nothing may be written there. */
const watched = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-upload-tmp-'));
const localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-upload-local-'));
const previous = {
  TMPDIR: process.env.TMPDIR,
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
};

function restoreEnv(names: Array<keyof typeof previous>) {
  for (const name of names) {
    if (previous[name] === undefined) delete process.env[name];
    else process.env[name] = previous[name];
  }
}

beforeAll(async () => {
  s3 = await startS3rver({
    buckets: ['uploads-test'],
    middleware: async (ctx, next) => {
      seen.push({ method: ctx.method, url: ctx.url, headers: { ...ctx.headers } });
      await next();
    },
  });
  // The API in this process reads its S3 credentials through the AWS SDK's default chain.
  process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
});
afterAll(async () => {
  watcher.close();
  restoreEnv(['TMPDIR', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
  await s3?.stop();
  fs.rmSync(watched, { recursive: true, force: true });
  fs.rmSync(localDir, { recursive: true, force: true });
});

/** Names anything in TMPDIR was created or changed under while the tests ran. */
const touched: string[] = [];
const watcher = fs.watch(watched, { recursive: true }, (_event, name) => touched.push(String(name)));

/** Nothing was ever written to TMPDIR (not even a spool folder created and emptied again). */
function expectTmpdirUntouched() {
  expect(fs.readdirSync(watched)).toEqual([]);
  expect(touched).toEqual([]);
}

/** Every file under `dir`, recursively (relative paths). */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((name) =>
    fs.statSync(path.join(dir, name)).isFile(),
  );
}

/** A valid Pharow CSV of about `bytes` bytes: each row carries ~1 KB in an ignored "Notes" column. */
function largeCsv(bytes: number): { body: Buffer; rows: number } {
  const padding = 'x'.repeat(1000);
  const lines = [toCsv([[...PHAROW_HEADER, 'Notes']])];
  let size = lines[0]!.length;
  let rows = 0;
  while (size < bytes) {
    const line = toCsv([[...pharowRow(rows), padding]]);
    lines.push(line);
    size += Buffer.byteLength(line);
    rows++;
  }
  return { body: Buffer.from(lines.join('')), rows };
}

/**
 * POSTs `body` over real HTTP in 64 KiB chunks (no Content-Length: only counting while reading can
 * refuse it). `stopAfter`: destroy the connection once that many bytes are written.
 */
function send(
  port: number,
  user: TestUser,
  headers: Record<string, string>,
  body: Buffer,
  stopAfter?: number,
): Promise<{ status: number; body: string } | 'disconnected'> {
  return new Promise((resolve, reject) => {
    // The server closes the connection once it has refused a body: errors after the answer are expected.
    let answered = false;
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/imports',
        headers: {
          authorization: `Bearer ${user.token}`,
          'x-organisation-id': user.organisationId,
          'transfer-encoding': 'chunked',
          ...headers,
        },
      },
      (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    request.on('error', (error) => {
      if (stopAfter !== undefined) resolve('disconnected');
      else if (!answered) reject(error);
    });
    let offset = 0;
    const write = () => {
      while (offset < body.length && !request.destroyed) {
        if (stopAfter !== undefined && offset >= stopAfter) {
          request.destroy();
          return resolve('disconnected');
        }
        const chunk = body.subarray(offset, offset + 64 * 1024);
        offset += chunk.length;
        if (!request.write(chunk)) return void request.once('drain', write);
      }
      if (!request.destroyed) request.end();
    };
    write();
  });
}

const drivers: Array<[string, 's3' | 'local']> = [
  ['s3 (s3rver, multipart, SSE)', 's3'],
  ['local folder', 'local'],
];

describe.each(drivers)('%s', (_name, driver) => {
  let t: TestApp;
  let user: TestUser;
  let storage: ObjectStorage;
  let port: number;

  beforeAll(async () => {
    const env =
      driver === 's3'
        ? {
            STORAGE_DRIVER: 's3',
            STORAGE_S3_BUCKET: 'uploads-test',
            STORAGE_S3_ENDPOINT: s3.endpoint,
            STORAGE_S3_REGION: s3.region,
            AWS_ACCESS_KEY_ID: s3.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
          }
        : { STORAGE_DRIVER: 'local', STORAGE_LOCAL_DIR: path.join(localDir, 'bucket') };
    t = await buildTestApp({
      label: `upload_stream_${driver}`,
      env: {
        ...env,
        IMPORT_MAX_BYTES: String(LIMIT),
        RATE_LIMIT_MAX: '1000000',
      },
    });
    user = await t.signUp();
    storage =
      driver === 's3'
        ? createS3Storage({
            bucket: 'uploads-test',
            region: s3.region,
            endpoint: s3.endpoint,
            credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
          })
        : createLocalStorage(path.join(localDir, 'bucket'));
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
    process.env.TMPDIR = watched;
  }, 120_000);
  afterAll(async () => {
    restoreEnv(['TMPDIR']);
    await storage?.close();
    await t?.close();
  });

  /** Nothing under imports/ of this organisation, complete or not, and no import row. */
  async function expectNothingKept(user: TestUser) {
    const objects: string[] = [];
    for await (const item of storage.list(`imports/${user.organisationId}/`)) objects.push(item.key);
    expect(objects).toEqual([]);
    const incomplete: string[] = [];
    for await (const item of storage.incompleteUploads(`imports/${user.organisationId}/`))
      incomplete.push(item.key);
    expect(incomplete).toEqual([]);
    if (driver === 'local') expect(filesUnder(path.join(localDir, 'bucket', 'imports'))).toEqual([]);
    const { rows } = await t.admin.query(
      'SELECT count(*)::int AS n FROM crm.imports WHERE organisation_id = $1',
      [user.organisationId],
    );
    expect(rows[0].n).toBe(0);
    expectTmpdirUntouched();
  }

  it('streams an upload larger than a multipart part into storage, never onto local disk; the worker imports it', async () => {
    const { body, rows } = largeCsv(12 * MiB);
    seen.length = 0;
    const response = await send(port, user, { 'content-type': 'text/csv' }, body);
    if (response === 'disconnected') throw new Error('disconnected');
    expect(response.status, response.body).toBe(202);
    const accepted = JSON.parse(response.body) as { id: string; status: string };
    expect(accepted.status).toBe('queued');
    // The object is complete before the import exists (the worker has not started yet).
    const key = `imports/${user.organisationId}/${accepted.id}.csv`;
    expect(await storage.head(key)).toMatchObject({ size: body.length });
    expectTmpdirUntouched();
    if (driver === 's3') {
      const create = seen.find((r) => r.method === 'POST' && r.url.includes(`${accepted.id}.csv?uploads`));
      expect(create?.headers['x-amz-server-side-encryption']).toBe('AES256');
      const parts = seen.filter((r) => r.method === 'PUT' && r.url.includes(`${accepted.id}.csv?`));
      expect(parts.length).toBe(2); // 8 MiB parts
    }
    const done = await waitForImport(t, user, accepted.id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.counts).toMatchObject({ inserted: rows, failed: 0 });
  }, 180_000);

  it('over the limit: 413 body_too_large, the multipart upload aborted, nothing stored', async () => {
    const other = await t.signUp();
    const { body } = largeCsv(LIMIT + 4 * MiB);
    seen.length = 0;
    const response = await send(port, other, { 'content-type': 'text/csv' }, body);
    if (response === 'disconnected') throw new Error('disconnected');
    expect(response.status, response.body).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'body_too_large' });
    await expectNothingKept(other);
    if (driver === 's3') {
      // Parts had been uploaded when the limit was crossed; the multipart upload was aborted.
      const mine = seen.filter((r) => r.url.includes(`/imports/${other.organisationId}/`));
      expect(mine.filter((r) => r.method === 'PUT' && r.url.includes('partNumber=')).length).toBe(2);
      expect(mine.some((r) => r.method === 'DELETE' && r.url.includes('uploadId='))).toBe(true);
      expect(mine.some((r) => r.method === 'POST' && r.url.includes('uploadId='))).toBe(false);
    }
  }, 120_000);

  it('over the limit in a multipart file: the same 413, nothing stored', async () => {
    const other = await t.signUp();
    const form = multipart(largeCsv(LIMIT + MiB).body);
    const response = await send(port, other, form.headers, form.payload);
    if (response === 'disconnected') throw new Error('disconnected');
    expect(response.status, response.body).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'body_too_large' });
    await expectNothingKept(other);
  }, 120_000);

  it('a header that can never import is refused while the body streams (422), nothing stored', async () => {
    const other = await t.signUp();
    const rows = Array.from({ length: 40_000 }, (_, i) => `${i};${'y'.repeat(200)}`);
    const body = Buffer.from(`Couleur;Saveur\n${rows.join('\n')}\n`); // > 8 MiB: a multipart upload
    seen.length = 0;
    const response = await send(port, other, { 'content-type': 'text/csv' }, body);
    if (response === 'disconnected') throw new Error('disconnected');
    expect(response.status, response.body).toBe(422);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'no_usable_columns' });
    await expectNothingKept(other);
    // Refused from its first bytes: not even a first part was sent to the bucket.
    expect(seen.filter((r) => r.url.includes(`/imports/${other.organisationId}/`))).toEqual([]);
    // A multipart body may still send its mapping after the file: the check waits for the end of
    // the body, and the stored file is removed when it fails.
    const form = multipart(body);
    const late = await send(port, other, form.headers, form.payload);
    if (late === 'disconnected') throw new Error('disconnected');
    expect(late.status, late.body).toBe(422);
    await expectNothingKept(other);
  }, 120_000);

  it('a client that disconnects mid-upload leaves no object, no incomplete upload, no import row', async () => {
    const other = await t.signUp();
    const { body } = largeCsv(16 * MiB);
    const outcome = await send(port, other, { 'content-type': 'text/csv' }, body, 10 * MiB);
    expect(outcome).toBe('disconnected');
    // The server notices the closed socket asynchronously: wait until the upload is undone.
    for (let i = 0; ; i++) {
      try {
        await expectNothingKept(other);
        break;
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    // And it stays so (nothing completes later).
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expectNothingKept(other);
  }, 120_000);
});
