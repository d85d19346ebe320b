import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TestApp, TestUser } from './app.js';

export interface TenantFixtureContext {
  t: TestApp;
  /** Owner of organisation A, whose objects the other organisation's member attacks. */
  owner: TestUser;
}

/** What a fixture file says about organisation A's objects. */
export interface TenantFixtureResult {
  /**
   * Route params by route pattern prefix: `{ '/v1/campaigns/:id': { id } }` covers
   * `/v1/campaigns/:id` and everything below it. The prefix `/` holds ids that bodies reference
   * by property name (e.g. `mailboxId`).
   */
  params: Record<string, Record<string, string>>;
  /**
   * Request bodies by `METHOD /pattern`, for routes whose generated sample body would fail
   * validation before the tenant check (patterns, cross-field rules): a body valid for A's owner.
   */
  bodies?: Record<string, object>;
}

/**
 * Creates objects in organisation A (as its owner, through the API) and says which routes they
 * cover. Route owners export one as the default of `test/<area>/tenant-fixtures.ts`; the
 * cross-tenant matrix (test/core/cross-tenant.test.ts) discovers and runs every such file, and
 * fails for any tenant route whose path params no fixture fills.
 */
export type TenantFixture = (context: TenantFixtureContext) => Promise<TenantFixtureResult>;

const testRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function discoverTenantFixtures(): Promise<{ file: string; fixture: TenantFixture }[]> {
  const files = fs
    .readdirSync(testRoot, { recursive: true, encoding: 'utf8' })
    .filter((file) => path.basename(file) === 'tenant-fixtures.ts' && !file.startsWith('helpers'))
    .sort();
  const found: { file: string; fixture: TenantFixture }[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(path.join(testRoot, file)).href)) as {
      default?: TenantFixture;
    };
    if (typeof module.default !== 'function')
      throw new Error(`${file} must export a TenantFixture as default`);
    found.push({ file, fixture: module.default });
  }
  return found;
}

/** The params for a route: every fixture key that prefixes the route pattern, longer keys winning. */
export function paramsFor(
  url: string,
  fixtures: Record<string, Record<string, string>>,
): Record<string, string> {
  return Object.keys(fixtures)
    .filter((key) => url === key || url.startsWith(`${key}/`))
    .sort((a, b) => a.length - b.length)
    .reduce<Record<string, string>>((params, key) => Object.assign(params, fixtures[key]), {});
}
