import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryWithPrelude } from '../src/pipelined-query.js';

/**
 * pipelined-query.ts (one round trip for settings + statement), unit-connection.ts (streams
 * handed to pg in turn) and tooling/testing's overlap guard use node-postgres internals. `pg` is
 * pinned exactly in the pnpm catalog; this suite fails loudly when an upgrade moves what they use.
 * Upgrading pg: re-read pg/lib/query.js and client.js, then update the pin and these checks.
 */
const require = createRequire(import.meta.url);
const installed = (require('pg/package.json') as { version: string }).version;
const catalogPin = /^\s+pg:\s*(\S+)\s*$/m.exec(
  readFileSync(new URL('../../../pnpm-workspace.yaml', import.meta.url), 'utf8'),
)?.[1];

describe('node-postgres internals pipelined-query.ts relies on', () => {
  it('pg is pinned to one exact version, and that version is the one installed', () => {
    expect(catalogPin, 'pnpm-workspace.yaml catalog: pg must be an exact version').toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed, `installed pg ${installed} differs from the pin ${catalogPin}`).toBe(catalogPin);
  });

  it('Query keeps the hooks PipelinedQuery overrides and calls', () => {
    const proto = pg.Query.prototype as unknown as Record<string, unknown>;
    for (const hook of [
      'prepare',
      'handleDataRow',
      'handleCommandComplete',
      'requiresPreparation',
      'handleReadyForQuery',
    ])
      expect(typeof proto[hook], `pg.Query.prototype.${hook}`).toBe('function');
  });

  it("Client keeps the queue fields the overlap guard reads (pg's own deprecation check)", () => {
    const client = new pg.Client() as unknown as { _queryQueue: unknown; pipeline?: unknown };
    expect(Array.isArray(client._queryQueue)).toBe(true);
    const source = readFileSync(require.resolve('pg/lib/client.js'), 'utf8');
    expect(source).toContain('this._queryQueue.length > 0 && !this.pipeline');
    expect(source).toContain('Calling client.query() when the client is already executing a query');
  });
});

describe('a prelude batch on the installed pg', () => {
  let database: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    database = await createTestDatabase('pg_internals');
    client = new pg.Client({ connectionString: database.adminUrl });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('runs prelude and statement in one batch: settings hold, prelude rows are dropped', async () => {
    const result = await queryWithPrelude<{ v: string; n: number }>(
      client,
      ["SELECT set_config('pf.probe', 'on', true)", 'SELECT generate_series(1, 3)'],
      { text: "SELECT current_setting('pf.probe') AS v, $1::int AS n", values: [7] },
    );
    expect(result.rows).toEqual([{ v: 'on', n: 7 }]);
    expect(result.fields.map((f) => f.name)).toEqual(['v', 'n']);
    // Transaction-local: it ended with the batch.
    const after = await client.query("SELECT current_setting('pf.probe', true) AS v");
    expect(after.rows[0].v ?? '').toBe('');
  });

  it('fails the statement when a prelude statement fails, and the client stays usable', async () => {
    await expect(queryWithPrelude(client, ['SELECT 1/0'], { text: 'SELECT 1' })).rejects.toThrow(
      /division by zero/,
    );
    expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  });
});
