import fs from 'node:fs';
import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFunctionList, snapshotFunctions, staleMentions } from '../src/contracts-doc.js';
import { CONTRACTS_FILE, SCHEMA_FILE } from '../src/schema-file.js';
import { renderSchemaSnapshot } from '../src/schema-snapshot.js';

const STALE =
  'stale: run `pnpm db:schema` (DATABASE_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres) and commit';

/** The first lines where two texts part, for a readable failure. */
function firstDifference(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i])
      return `line ${i + 1}:\n  schema.sql: ${a[i] ?? '(end)'}\n  database:   ${b[i] ?? '(end)'}`;
  }
  return '';
}

describe('packages/db-schema/schema.sql', () => {
  let database: TestDatabase;
  let client: pg.Client;
  const committed = fs.readFileSync(SCHEMA_FILE, 'utf8');
  beforeAll(async () => {
    // A clone of the run's template: a database migrated from zero.
    database = await createTestDatabase('schema_snapshot');
    client = new pg.Client({ connectionString: database.adminUrl });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('matches a freshly migrated database', async () => {
    const fresh = await renderSchemaSnapshot(client);
    expect(firstDifference(committed, fresh), STALE).toBe('');
  });

  it('holds tables, policies, function bodies and grants', () => {
    expect(committed).toMatch(/^CREATE TABLE crm\.companies \(/m);
    expect(committed).toMatch(/^CREATE POLICY \S+ ON crm\.companies /m);
    expect(committed).toMatch(/^ALTER TABLE crm\.companies FORCE ROW LEVEL SECURITY;$/m);
    expect(committed).toMatch(/^CREATE OR REPLACE FUNCTION app\.current_organisation_id\(\)\n[\s\S]*?PF001/m);
    expect(committed).toMatch(/^GRANT .* ON crm\.companies TO prospectflow_app;$/m);
    expect(snapshotFunctions(committed).length).toBeGreaterThan(20);
  });
});

describe('docs/CONTRACTS.md against the snapshot', () => {
  const snapshot = fs.readFileSync(SCHEMA_FILE, 'utf8');
  const doc = fs.readFileSync(CONTRACTS_FILE, 'utf8');

  it('lists every app.* function with its current signature (the generated list is current)', () => {
    expect(doc.includes(renderFunctionList(snapshot)), STALE).toBe(true);
  });

  it('mentions no superseded signature or removed function in its prose', () => {
    expect(staleMentions(doc, snapshot)).toEqual([]);
  });

  it('catches a stale mention', () => {
    expect(staleMentions('`app.claim_tasks(worker text, limit int)` `app.gone()`', snapshot)).toEqual([
      '`app.claim_tasks(worker text, limit int)`',
      '`app.gone()`',
    ]);
  });
});
