import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnvironment } from '../src/index.js';
import { OVERLAP_WARNING, takeOverlaps } from '../src/setup.js';

describe('the overlapping-query guard (setup.ts)', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: testEnvironment().adminUrl });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
  });

  it('records a query sent while another is queued on the same client, with its caller', async () => {
    const first = client.query('SELECT pg_sleep(0.05)');
    const second = client.query('SELECT 1');
    const third = client.query('SELECT 2');
    await Promise.all([first, second, third]);
    const found = takeOverlaps();
    expect(found.length).toBeGreaterThanOrEqual(1);
    expect(found[0]!.message).toContain(OVERLAP_WARNING);
    expect(found[0]!.stack).toContain('overlap.test.ts');
  });

  it('lets awaited queries through', async () => {
    await client.query('SELECT 1');
    await client.query('SELECT 2');
    expect(takeOverlaps()).toEqual([]);
  });
});
