import type { Static } from 'typebox';
import type { ImportWithErrors } from '../../src/routes/v1/imports/schema.js';
import type { TestApp, TestUser } from '../helpers/app.js';
import { ensureImportWorker } from './worker-process.js';

export function multipart(
  file: Buffer | string,
  fields: Record<string, string> = {},
  fileName = 'export.csv',
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----pf${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${fileName}"\r\ncontent-type: text/csv\r\n\r\n`,
    ),
    Buffer.isBuffer(file) ? file : Buffer.from(file),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return {
    payload: Buffer.concat(parts),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** GET /v1/imports/{id}'s answer, as its route schema types it. */
export type ImportBody = Static<typeof ImportWithErrors>;

/** Polls GET /v1/imports/{id} until the import has finished (a worker process runs it). */
export async function waitForImport(t: TestApp, user: TestUser, id: string, query = ''): Promise<ImportBody> {
  ensureImportWorker(t);
  for (;;) {
    const response = await t.request(user, { method: 'GET', url: `/v1/imports/${id}${query}` });
    if (response.statusCode !== 200) throw new Error(`GET import: ${response.statusCode} ${response.body}`);
    const body = response.json() as ImportBody;
    if (body.status === 'succeeded' || body.status === 'failed') return body;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
