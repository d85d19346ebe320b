import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

/** The committed document clients are generated from (packages/api-client). */
export const DOCUMENT_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../openapi.json');

/** The document text as committed: two-space JSON and a final newline. */
export const serialise = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;

/**
 * The document the app serves, from an app that is built but never listens or connects (the pg
 * pool is lazy; no Redis): what `/openapi.json` answers in every environment.
 */
export async function buildDocument(): Promise<unknown> {
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-openapi-'));
  const app = await buildApp(
    loadConfig({
      NODE_ENV: 'development',
      LOG_LEVEL: 'silent',
      DATABASE_URL: 'postgres://openapi@127.0.0.1:1/never-connected',
      // Dev auth only so the app builds without a Cognito pool; the dev-only JWKS route is not documented.
      AUTH_MODE: 'dev',
      AUTH_DEV_KEY_DIR: keyDir,
    }),
    {},
    // Loading every route module through tsx is slow on a busy machine.
    { pluginTimeout: 120_000 },
  );
  try {
    await app.ready();
    return JSON.parse(JSON.stringify(app.swagger()));
  } finally {
    await app.close();
    fs.rmSync(keyDir, { recursive: true, force: true });
  }
}

export function readCommitted(): unknown {
  return JSON.parse(fs.readFileSync(DOCUMENT_PATH, 'utf8'));
}

/**
 * Redocly's recommended rules (valid OpenAPI 3.1, unique operationIds, resolvable $refs, declared
 * 4xx…), as errors. Returns one line per problem; empty when the document is clean.
 */
export async function lintDocument(document: unknown): Promise<string[]> {
  const config = await createConfig({
    extends: ['recommended'],
    rules: {
      'operation-operationId': 'error',
      'operation-operationId-unique': 'error',
      'operation-operationId-url-safe': 'error',
      // Operations endpoints (/health, /metrics…) answer no 4xx; test/core/openapi.test.ts checks the rest.
      'operation-4xx-response': 'off',
      'operation-2xx-response': 'error',
      'no-unresolved-refs': 'error',
      'no-unused-components': 'error',
      'operation-summary': 'error',
      // Public tracking/unsubscribe routes and ops endpoints have no server list; the API has one origin.
      'no-empty-servers': 'off',
      'info-license': 'off',
      'info-license-url': 'off',
    },
  });
  const problems = await lintFromString({ source: serialise(document), absoluteRef: DOCUMENT_PATH, config });
  return problems
    .filter((problem) => problem.severity === 'error')
    .map((problem) => `${problem.ruleId}: ${problem.message} (${problem.location[0]?.pointer ?? ''})`);
}
