import { ERRORS, isErrorCode } from '@prospectflow/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintDocument, readCommitted } from '../../scripts/openapi-document.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

interface Operation {
  operationId?: string;
  description?: string;
  'x-required-role'?: string;
  security?: unknown[];
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: { $ref?: string } }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, Operation['responses'][string]> };
}

const REGENERATE =
  'openapi.json is stale: run `pnpm --filter @prospectflow/ingest-api openapi` and commit it';

let t: TestApp;
let served: Document;
beforeAll(async () => {
  t = await buildTestApp({ label: 'openapi' });
  served = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
});
afterAll(async () => {
  await t?.close();
});

function operations(document: Document) {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      name: `${method.toUpperCase()} ${path}`,
      operation,
    })),
  );
}

/** A response, following a components/responses $ref. */
function response(document: Document, value: Operation['responses'][string]) {
  const name = value.$ref?.replace('#/components/responses/', '');
  return name ? document.components.responses[name]! : value;
}

describe('OpenAPI document', () => {
  it('the committed openapi.json is the document the API serves (/openapi.json and /docs/json)', async () => {
    expect(served, REGENERATE).toEqual(readCommitted());
    const docs = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(docs.json()).toEqual(served);
  });

  it('passes Redocly lint (valid 3.1, unique operationIds, resolvable refs, no unused components)', async () => {
    expect(await lintDocument(served)).toEqual([]);
  });

  it('every operation has a unique camelCase operationId and says who may call it', () => {
    const all = operations(served);
    expect(all.length).toBeGreaterThan(50);
    const ids = all.map(({ operation }) => operation.operationId);
    expect(ids.filter((id) => !/^[a-z][A-Za-z0-9]*$/.test(String(id)))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    const silent = all.filter(
      ({ operation }) =>
        !/^(Role: `\w+` or higher|Public: |Any signed-in user)/.test(operation.description ?? ''),
    );
    expect(silent.map(({ name }) => name)).toEqual([]);
  });

  it('declares the problem+json errors each operation can answer', () => {
    const wrong: string[] = [];
    for (const { name, operation } of operations(served)) {
      const statuses = Object.keys(operation.responses);
      const expect = ['500'];
      if (operation.security?.length !== 0) expect.push('400', '401', '429', '503');
      if (operation['x-required-role']) expect.push('403');
      if (name.includes('{')) expect.push('404');
      if (/^(POST|PATCH|PUT) /.test(name)) expect.push('413', '415');
      const missing = expect.filter((status) => !statuses.includes(status));
      if (missing.length > 0) wrong.push(`${name} lacks ${missing.join(', ')}`);
      if (!statuses.some((status) => status.startsWith('2'))) wrong.push(`${name} has no success response`);
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        const schema = response(served, operation.responses[status]!).content?.['application/problem+json']
          ?.schema;
        if (schema?.$ref !== '#/components/schemas/Problem') wrong.push(`${name} ${status} is not a Problem`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('names the codes a route really answers with: a resource 404 of its own, the signed webhook 401 and 503', () => {
    const description = (path: string, method: string, status: string) =>
      String(
        (response(served, served.paths[path]![method]!.responses[status]!) as { description?: string })
          .description,
      );
    for (const [collection, code] of [
      ['companies', 'company_not_found'],
      ['people', 'person_not_found'],
      ['positions', 'position_not_found'],
    ] as const) {
      expect(ERRORS[code].status).toBe(404);
      for (const method of ['get', 'patch', 'delete']) {
        const text = description(`/v1/${collection}/{id}`, method, '404');
        expect(text, `${method} ${collection}`).toContain(`\`${code}\``);
        expect(text).not.toContain('`not_found`');
      }
    }
    const inbound = served.paths['/v1/inbound']!.post!;
    expect(inbound.security).toEqual([]);
    expect(description('/v1/inbound', 'post', '401')).toMatch(/`invalid_signature`.*`stale_signature`/);
    expect(description('/v1/inbound', 'post', '503')).toContain('`inbound_not_configured`');
    // Every code a 4xx/5xx description names first is one contracts knows, with that status.
    for (const { name, operation } of operations(served)) {
      for (const [status, value] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue;
        const text = String((response(served, value) as { description?: string }).description);
        for (const [, code] of text.matchAll(
          /`([a-z]+(?:_[a-z]+)*_not_found|[a-z_]*signature|inbound_not_configured)`/g,
        )) {
          expect(isErrorCode(code) ? ERRORS[code].status : undefined, `${name} ${status} ${code}`).toBe(
            Number(status),
          );
        }
      }
    }
  });

  it('describes the Art. 15 subject-access document (GET /v1/privacy/subjects)', () => {
    const ok = served.paths['/v1/privacy/subjects']!.get!.responses['200']!;
    expect(ok.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/SubjectAccess' });
  });

  it('names shared schemas under components/schemas and refers to them', () => {
    for (const name of [
      'Problem',
      'Company',
      'CompanyPage',
      'Person',
      'ImportResource',
      'Campaign',
      'Mailbox',
    ]) {
      expect(served.components.schemas, name).toHaveProperty(name);
    }
    const created = served.paths['/v1/companies']!.post!.responses['201']!;
    expect(created.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Company' });
  });
});
