import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, isProblem } from '../src/index.js';

/** The credentials middleware, seen from a real HTTP server (the API itself: apps/ingest-api/test/api-client.test.ts). */
let server: http.Server;
let baseUrl: string;
const seen: http.IncomingHttpHeaders[] = [];
const bodies: string[] = [];
beforeAll(async () => {
  server = http.createServer(async (request, response) => {
    seen.push(request.headers);
    let body = '';
    for await (const chunk of request) body += chunk;
    bodies.push(body);
    response.setHeader('content-type', 'application/problem+json');
    response.statusCode = 404;
    response.end(
      JSON.stringify({ type: 't', title: 'Not found', status: 404, detail: 'd', code: 'not_found' }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('createApiClient', () => {
  it('sends the token and organisation it is given, asked again before every call', async () => {
    let n = 0;
    const api = createApiClient({ baseUrl, token: () => `token-${++n}`, organisationId: 'org-1' });
    const first = await api.GET('/v1/companies');
    await api.GET('/v1/me');
    expect(seen.map((headers) => [headers.authorization, headers['x-organisation-id']])).toEqual([
      ['Bearer token-1', 'org-1'],
      ['Bearer token-2', 'org-1'],
    ]);
    expect(first.response.url).toBe(`${baseUrl}v1/companies`);
    expect(isProblem(first.error)).toBe(true);
    expect(first.error?.code).toBe('not_found');
  });

  it('sends no credentials it was not given, and a header set on the call wins', async () => {
    seen.length = 0;
    await createApiClient({ baseUrl }).GET('/health');
    await createApiClient({ baseUrl, organisationId: 'org-1' }).GET('/v1/companies', {
      headers: { 'x-organisation-id': 'org-2' },
    });
    expect(seen.map((headers) => [headers.authorization, headers['x-organisation-id']])).toEqual([
      [undefined, undefined],
      [undefined, 'org-2'],
    ]);
  });

  it('uploads an import as FormData (multipart/form-data) or as a text/csv body, typed by the document', async () => {
    seen.length = 0;
    bodies.length = 0;
    const api = createApiClient({ baseUrl, token: 't', organisationId: 'org-1' });
    const form = new FormData();
    form.append('file', new Blob(['email\nada@lovelace.io\n'], { type: 'text/csv' }), 'people.csv');
    form.append('mapping', JSON.stringify({ email: 'email' }));
    // Type-checked (pnpm typecheck: tsc -p test): POST /v1/imports takes a FormData body.
    await api.POST('/v1/imports', { body: form });
    await api.POST('/v1/imports', {
      body: 'email\nada@lovelace.io\n',
      headers: { 'content-type': 'text/csv' },
      bodySerializer: (csv) => csv as string,
    });
    // @ts-expect-error a route without a multipart body takes no FormData
    await api.POST('/v1/companies', { body: form });
    expect(String(seen[0]!['content-type'])).toMatch(/^multipart\/form-data; boundary=/);
    expect(bodies[0]).toContain('filename="people.csv"');
    expect(bodies[0]).toContain('ada@lovelace.io');
    expect(seen[1]!['content-type']).toBe('text/csv');
    expect(bodies[1]).toBe('email\nada@lovelace.io\n');
  });
});
