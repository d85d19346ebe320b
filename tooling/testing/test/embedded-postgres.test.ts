import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStartError, startEmbeddedPostgres } from '../src/index.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-pg-access-'));
afterAll(() => {
  fs.chmodSync(path.join(scratch, 'locked'), 0o700);
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('embedded PostgreSQL start-up failures', () => {
  it('names the cause and the fix when the server user cannot reach the data directory', async () => {
    // Mode 000: neither this user nor (as root) the postgres user PostgreSQL runs as can enter it.
    const locked = path.join(scratch, 'locked');
    fs.mkdirSync(locked, { mode: 0o000 });
    const dataDir = path.join(locked, 'data');
    const failure = await startEmbeddedPostgres({ dataDir }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PostgresStartError);
    const { reason, fix, message } = failure as PostgresStartError;
    expect(reason).toContain(`cannot reach ${locked}`);
    expect(fix.length).toBeGreaterThan(10);
    expect(message).toMatch(/Fix: /);
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});
