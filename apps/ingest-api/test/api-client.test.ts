import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type ApiClient, createApiClient, isProblem } from '@prospectflow/api-client';
import { IMPORT_STATUSES } from '@prospectflow/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/app.js';

/**
 * @prospectflow/api-client against the real API on a listening port (real HTTP, fetch): the
 * typed calls a frontend makes, signed in with a dev token.
 */
let t: TestApp;
let baseUrl: string;
beforeAll(async () => {
  t = await buildTestApp({ label: 'api-client' });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.close();
});

describe('@prospectflow/api-client against the listening API', () => {
  const email = `client-${randomUUID().slice(0, 8)}@example.test`;
  let api: ApiClient;
  let organisationId: string;

  it('signs in with a dev token and creates an organisation', async () => {
    const signedIn = createApiClient({ baseUrl, token: () => t.token(email) });
    const me = await signedIn.GET('/v1/me');
    expect(me.response.status).toBe(200);
    expect(me.data?.email).toBe(email);

    const created = await signedIn.POST('/v1/organisations', { body: { name: 'Client test org' } });
    expect(created.response.status, JSON.stringify(created.error)).toBe(201);
    organisationId = created.data!.id;
    api = createApiClient({ baseUrl, token: t.token(email), organisationId });
  });

  it('creates and lists companies', async () => {
    const created = await api.POST('/v1/companies', {
      body: { name: 'Analytical Engines', domain: 'analytical.example', custom: {} },
    });
    expect(created.response.status, JSON.stringify(created.error)).toBe(201);
    expect(created.response.headers.get('location')).toBe(`/v1/companies/${created.data!.id}`);

    const page = await api.GET('/v1/companies', { params: { query: { limit: 10 } } });
    expect(page.error).toBeUndefined();
    expect(page.data!.items.map((company) => company.name)).toEqual(['Analytical Engines']);
    expect(page.data!.nextCursor).toBeNull();
  });

  it('creates an import and reads its status', async () => {
    const accepted = await api.POST('/v1/imports', {
      body: [{ email: 'ada@lovelace.io', first_name: 'Ada', company_name: 'Analytical' }],
    });
    expect(accepted.response.status, JSON.stringify(accepted.error)).toBe(202);
    const id = accepted.data!.id;
    expect(accepted.response.headers.get('location')).toBe(`/v1/imports/${id}`);

    const read = await api.GET('/v1/imports/{id}', { params: { path: { id }, query: { errorsLimit: 10 } } });
    expect(read.error).toBeUndefined();
    expect(read.data!.id).toBe(id);
    expect(IMPORT_STATUSES).toContain(read.data!.status);
    expect(read.data!.sourceKind).toBe('json');
    expect(Array.isArray(read.data!.errors.items)).toBe(true);
  });

  it('uploads a CSV as FormData (multipart) through the client, then reads the import', async () => {
    const form = new FormData();
    form.append(
      'file',
      new Blob(['email;first_name;company_name\ngrace@hopper.io;Grace;Navy\n'], { type: 'text/csv' }),
      'people.csv',
    );
    const accepted = await api.POST('/v1/imports', { body: form });
    expect(accepted.response.status, JSON.stringify(accepted.error)).toBe(202);
    const read = await api.GET('/v1/imports/{id}', { params: { path: { id: accepted.data!.id } } });
    expect(read.data!.sourceKind).toBe('csv');
    expect(read.data!.fileName).toBe('people.csv');
  });

  it('answers errors as typed problems', async () => {
    const missing = await api.GET('/v1/imports/{id}', { params: { path: { id: randomUUID() } } });
    expect(missing.response.status).toBe(404);
    expect(missing.response.headers.get('content-type')).toContain('application/problem+json');
    expect(isProblem(missing.error)).toBe(true);
    expect(missing.error?.code).toBe('import_not_found');

    const stranger = createApiClient({ baseUrl, token: t.token('stranger@example.test'), organisationId });
    const refused = await stranger.GET('/v1/companies');
    expect([refused.response.status, refused.error?.code]).toEqual([403, 'not_a_member']);

    const anonymous = createApiClient({ baseUrl });
    const unauthenticated = await anonymous.GET('/v1/me');
    expect([unauthenticated.response.status, unauthenticated.error?.code]).toEqual([
      401,
      'credentials_missing',
    ]);
  });

  it("runs the README's example (packages/api-client/examples/companies.mjs)", async () => {
    const example = fileURLToPath(
      new URL('../../../packages/api-client/examples/companies.mjs', import.meta.url),
    );
    const { stdout } = await promisify(execFile)(process.execPath, [example], {
      env: { ...process.env, API_URL: baseUrl, API_TOKEN: t.token(email) },
    });
    // The company created above, and the one the import may have added by now.
    expect(stdout).toMatch(new RegExp(`^${email}, organisation ${organisationId}: [12] companies$`, 'm'));
    expect(stdout).toContain('- Analytical Engines (analytical.example)');
  });

  it("the README's and the example's commands mint a token `pnpm dev`'s API accepts (COGNITO_TOKEN_USE default: access)", async () => {
    const devLike = await buildTestApp({ label: 'api-client-dev', env: { COGNITO_TOKEN_USE: 'access' } });
    try {
      await devLike.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(devLike.app.server.address() as AddressInfo).port}`;
      const read = (path: string) =>
        readFileSync(fileURLToPath(new URL(`../../../packages/api-client/${path}`, import.meta.url)), 'utf8');
      for (const [where, text] of [
        ['README.md', read('README.md')],
        ['examples/companies.mjs', read('examples/companies.mjs')],
      ] as const) {
        const command = /ingest-api token ([^)]*)\)/.exec(text);
        expect(command, where).not.toBeNull();
        // What the token CLI (auth-core's token-cli) mints for these arguments.
        const type = /--type (\w+)/.exec(command![1]!)?.[1] ?? 'access';
        const who = /--email (\S+)/.exec(command![1]!)![1]!;
        const { stdout } = await promisify(execFile)(
          process.execPath,
          [fileURLToPath(new URL('../../../packages/api-client/examples/companies.mjs', import.meta.url))],
          {
            env: {
              ...process.env,
              API_URL: url,
              API_TOKEN: devLike.token(who, { type: type as 'id' | 'access' }),
            },
          },
        );
        expect(stdout, where).toMatch(
          new RegExp(`^${who}, organisation [0-9a-f-]{36}: \\d+ companies$`, 'm'),
        );
      }
    } finally {
      await devLike.close();
    }
  });
});
