import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { multipart } from './http-helpers.js';

/**
 * ONE byte limit (IMPORT_MAX_BYTES) for every import body, whatever its content type, enforced
 * while the body streams in: 413 problem+json `body_too_large`, nothing left in object storage
 * (the local driver's folder here), no import row.
 */
const MAX = 4096;
const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-import-limit-'));
/** Every file in the storage folder, partial uploads included (removed by the time, or just after, the 413 goes out). */
const stored = () =>
  fs.readdirSync(storageDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  t = await buildTestApp({
    label: 'import_limit',
    env: { IMPORT_MAX_BYTES: String(MAX), STORAGE_DRIVER: 'local', STORAGE_LOCAL_DIR: storageDir },
  });
  user = await t.signUp();
});
afterAll(async () => {
  await t?.close();
  fs.rmSync(storageDir, { recursive: true, force: true });
});

function csv(bytes: number): Buffer {
  const header = 'Raison sociale;SIREN\n';
  const rows: string[] = [];
  let size = header.length;
  for (let i = 0; size < bytes; i++) {
    const row = `Société ${i};\n`;
    rows.push(row);
    size += Buffer.byteLength(row);
  }
  return Buffer.from(header + rows.join(''));
}

/** A body stream with no Content-Length: only counting while reading can refuse it. */
function chunked(body: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < body.length; i += 512) yield body.subarray(i, i + 512);
    })(),
  );
}

async function expectRefusedAndNothingKept(response: {
  statusCode: number;
  headers: Record<string, unknown>;
  json: () => unknown;
  body: string;
}) {
  expect(response.statusCode, response.body).toBe(413);
  expect(String(response.headers['content-type'])).toContain('application/problem+json');
  expect(response.json()).toMatchObject({ status: 413, code: 'body_too_large' });
  await expect.poll(stored, { timeout: 2000 }).toEqual([]);
  const { rows } = await t.admin.query(
    'SELECT count(*)::int AS n FROM crm.imports WHERE organisation_id = $1',
    [user.organisationId],
  );
  expect(rows[0].n).toBe(0);
}

const post = (headers: Record<string, string>, payload: Buffer | Readable | string) =>
  t.request(user, { method: 'POST', url: '/v1/imports', headers, payload });

describe('IMPORT_MAX_BYTES on every import body', () => {
  for (const type of ['text/csv', 'application/csv', 'text/plain', 'application/octet-stream']) {
    it(`${type}: refused by its declared length`, async () => {
      await expectRefusedAndNothingKept(await post({ 'content-type': type }, csv(MAX * 3)));
    });

    it(`${type}: refused while streaming (no Content-Length), partial spool deleted`, async () => {
      await expectRefusedAndNothingKept(await post({ 'content-type': type }, chunked(csv(MAX * 3))));
    });
  }

  it('any other content type: over the limit by its declared length, the same 413; otherwise 415', async () => {
    for (const type of [
      'application/vnd.ms-excel',
      'application/x-www-form-urlencoded',
      'application/xml',
      'multipart/mixed; boundary=x',
      'image/png',
    ]) {
      await expectRefusedAndNothingKept(await post({ 'content-type': type }, csv(MAX * 3)));
      const small = await post({ 'content-type': type }, 'Raison sociale;SIREN\nAcme;\n');
      expect(small.statusCode, type).toBe(415);
      expect(small.json()).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    }
  });

  it('application/json: refused over the same limit', async () => {
    const rows = Array.from({ length: 400 }, (_, i) => ({ name: `Société ${i}` }));
    const body = JSON.stringify(rows);
    expect(body.length).toBeGreaterThan(MAX);
    await expectRefusedAndNothingKept(await post({ 'content-type': 'application/json' }, body));
    await expectRefusedAndNothingKept(
      await post({ 'content-type': 'application/json' }, chunked(Buffer.from(body))),
    );
  });

  it('multipart/form-data: a file over the same limit is refused', async () => {
    const form = multipart(csv(MAX * 3));
    await expectRefusedAndNothingKept(await post(form.headers, form.payload));
    await expectRefusedAndNothingKept(await post(form.headers, chunked(form.payload)));
  });

  it('multipart/form-data: fields count against the same limit as the file (a small file, large fields)', async () => {
    const small = 'Raison sociale;SIREN\nAcme;\n';
    // Each field under the limit, together over it; then one field far over it (cut short by the parser).
    const pad = 'x'.repeat(MAX / 2);
    const several = multipart(small, { a: pad, b: pad, c: pad });
    const huge = multipart(small, { a: 'x'.repeat(900 * 1024) });
    for (const form of [several, huge]) {
      // Refused by its declared length, and (chunked) while its fields arrive.
      await expectRefusedAndNothingKept(await post(form.headers, form.payload));
      await expectRefusedAndNothingKept(await post(form.headers, chunked(form.payload)));
    }
    // Fields before the file leave it only what is left of the limit.
    const before = multipart(csv(MAX - 1000), {
      mapping: `{"Raison sociale": "company_name"${' '.repeat(1500)}}`,
    });
    await expectRefusedAndNothingKept(await post(before.headers, chunked(before.payload)));
  });

  it('multipart/form-data: a field after the file that takes the body over the limit removes the stored file', async () => {
    const form = multipart(csv(MAX - 1000));
    // The same body with a field after the file part.
    const boundary = /boundary=(.+)$/.exec(form.headers['content-type']!)![1]!;
    const tail = Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="note"\r\n\r\n${'y'.repeat(2000)}\r\n--${boundary}--\r\n`,
    );
    const payload = Buffer.concat([
      form.payload.subarray(0, form.payload.length - `--${boundary}--\r\n`.length),
      tail,
    ]);
    await expectRefusedAndNothingKept(await post(form.headers, chunked(payload)));
  });

  it('multipart/form-data: bytes outside the parts (preamble, part headers, epilogue) count too', async () => {
    const form = multipart('Raison sociale;SIREN\nAcme;\n');
    const boundary = /boundary=(.+)$/.exec(form.headers['content-type']!)![1]!;
    const padded = [
      Buffer.concat([Buffer.from(`${'p'.repeat(MAX * 4)}\r\n`), form.payload]),
      Buffer.concat([form.payload, Buffer.from('e'.repeat(MAX * 4))]),
      Buffer.from(
        form.payload
          .toString()
          .replace(
            'content-type: text/csv\r\n',
            `content-type: text/csv\r\nx-pad: ${'h'.repeat(MAX * 4)}\r\n`,
          ),
      ),
    ];
    for (const payload of padded) {
      expect(payload.includes(boundary)).toBe(true);
      await expectRefusedAndNothingKept(await post(form.headers, chunked(payload)));
    }
  });

  it('multipart/form-data: a second file part is 400 unexpected_file, saying so', async () => {
    const form = multipart('Raison sociale;SIREN\nAcme;\n');
    const boundary = /boundary=(.+)$/.exec(form.headers['content-type']!)![1]!;
    const second = Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="b.csv"\r\ncontent-type: text/csv\r\n\r\nRaison sociale;SIREN\nB;\n\r\n--${boundary}--\r\n`,
    );
    const payload = Buffer.concat([
      form.payload.subarray(0, form.payload.length - `--${boundary}--\r\n`.length),
      second,
    ]);
    const response = await post(form.headers, payload);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json()).toMatchObject({ code: 'unexpected_file' });
    expect(response.json().detail).toContain('exactly one file');
    await expect.poll(stored, { timeout: 2000 }).toEqual([]);
  });

  it('over real HTTP, the 413 arrives while the client is still sending (the body is not read to its end)', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const chunk = csv(64 * 1024);
    let sent = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/imports',
          headers: {
            authorization: `Bearer ${user.token}`,
            'x-organisation-id': user.organisationId,
            'content-type': 'text/csv',
          },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
          request.destroy();
        },
      );
      request.on('error', () => {}); // the server may close once it answered
      const write = () => {
        // Up to 64 MiB, far more than the limit: the answer must come long before the end.
        while (sent < 64 * 1024 * 1024 && !request.destroyed) {
          sent += chunk.length;
          if (!request.write(chunk)) return void request.once('drain', write);
        }
        if (!request.destroyed) request.end();
      };
      write();
      setTimeout(() => reject(new Error('no answer within 20 s')), 20_000).unref();
    });
    expect(status).toBe(413);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    await expect.poll(stored, { timeout: 2000 }).toEqual([]);
  });

  it('a body under the limit is accepted (the limit refuses only what is over it)', async () => {
    const small = await post({ 'content-type': 'text/csv' }, 'Raison sociale;SIREN\nAcme;\n');
    expect(small.statusCode, small.body).toBe(202);
  });
});
