import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { migrate, roleUrl, seedDemo, setupDatabase, withDatabase } from '@prospectflow/db-schema';
import { createS3Storage, type ObjectStorage } from '@prospectflow/object-storage';
import { dumpableClusterUrl, type RunningS3, startS3rver } from '@prospectflow/testing';
import { CHILD_GUARD_ARGS, watchChildStderr } from '@prospectflow/testing/setup';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { backupMetrics } from '../src/metrics.js';
import { runRestoreCheck } from '../src/restore-check.js';
import { serve } from '../src/serve.js';
import { readStatus } from '../src/status.js';

const APP = fileURLToPath(new URL('..', import.meta.url));
const BUCKET = 'backups-test';

let cluster: string;
let admin: pg.Pool;
let prefix: string;
let source: string;
let s3: RunningS3;
let storage: ObjectStorage;
let workDir: string;
let env: Record<string, string>;

/** Runs `fn` with the process's stdout and stderr captured. */
async function captured(
  fn: () => Promise<number>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const spies = (['stdout', 'stderr'] as const).map((stream) =>
    vi.spyOn(process[stream], 'write').mockImplementation((chunk) => {
      out[stream] += String(chunk);
      return true;
    }),
  );
  try {
    return { code: await fn(), ...out };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

const databaseExists = async (name: string) =>
  (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;

async function keys(): Promise<string[]> {
  const found: string[] = [];
  for await (const item of storage.list('')) found.push(item.key);
  return found;
}

async function text(key: string): Promise<string> {
  return (await buffer(await storage.get(key))).toString('utf8');
}

/** The CLI as an operator (or the compose service) runs it, with the overlap guard (CHILD_GUARD_ARGS). */
function cli(args: string[], extra: Record<string, string> = {}): ChildProcess & { done: Promise<Run> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...CHILD_GUARD_ARGS, 'src/cli.ts', ...args], {
    cwd: APP,
    env: { ...process.env, ...env, ...extra },
  });
  watchChildStderr(child.stderr, { forward: false });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return Object.assign(child, { done });
}
type Run = { code: number | null; stdout: string; stderr: string };

/** Prometheus text → { 'name{labels}': value }. */
function samples(body: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of body.split('\n')) {
    const match = /^(\w+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) out[match[1]!] = Number(match[2]);
  }
  return out;
}

const stamp = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
const archiveKey = (taken: Date) => `backups/archives/${source}_full_${stamp(taken)}.dump.gz`;
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

async function putArchive(taken: Date, bytes: Buffer, checksum: string | null = sha256(bytes)) {
  const key = archiveKey(taken);
  await storage.put(key, bytes);
  if (checksum) await storage.put(`${key}.sha256`, `${checksum}  ${key.split('/').at(-1)}\n`);
  return key;
}

beforeAll(async () => {
  cluster = await dumpableClusterUrl();
  admin = new pg.Pool({ connectionString: cluster, max: 1 });
  prefix = `pf_bk_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  source = `${prefix}_src`;
  await setupDatabase(cluster, { database: source });
  const migrator = roleUrl(withDatabase(cluster, source), 'migrator');
  await migrate(migrator);
  await seedDemo(migrator);
  s3 = await startS3rver({ buckets: [BUCKET] });
  storage = createS3Storage({
    bucket: BUCKET,
    region: s3.region,
    endpoint: s3.endpoint,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  workDir = mkdtempSync(join(tmpdir(), 'pf-backups-work-'));
  env = {
    LOG_LEVEL: 'info',
    BACKUP_DATABASE_URL: roleUrl(withDatabase(cluster, source), 'backup'),
    BACKUP_STORAGE_DRIVER: 's3',
    BACKUP_STORAGE_S3_BUCKET: BUCKET,
    BACKUP_STORAGE_S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
    BACKUP_BUCKET_RETENTION_DAYS: '30',
    BACKUP_BUCKET_KEEP_MIN: '2',
    BACKUP_WORK_DIR: workDir,
    RESTORE_CHECK_ADMIN_URL: cluster,
    RESTORE_CHECK_DATABASE: `${prefix}_restore_check`,
  };
});

afterAll(async () => {
  if (admin && prefix) {
    const { rows } = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${prefix}%`],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
  await admin?.end();
  await storage?.close();
  await s3?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('prospectflow-backups', () => {
  it('a scheduled backup lands in the bucket with its checksum, old archives go, and the scheduled restore check reports success on /metrics', async () => {
    const day = 86_400_000;
    const old = await putArchive(new Date(Date.now() - 400 * day), Buffer.from('old'));
    const older = await putArchive(new Date(Date.now() - 300 * day), Buffer.from('older'));
    const incomplete = await putArchive(new Date(Date.now() - 200 * day), Buffer.from('cut'), null);
    await storage.put('backups/notes.txt', 'operator notes');
    await storage.put('imports/org/list.csv', 'a;b');

    // The scheduler of `serve` (what the compose service runs), with two one-off schedules (ISO
    // date-times): the backup, then the restore check queued behind it. Croner drops the
    // milliseconds, so the two are whole seconds apart (same second: either could run first).
    const soon = (ms: number) => new Date(Date.now() + ms).toISOString();
    const config = loadConfig({
      ...env,
      BACKUP_METRICS_PORT: '0',
      BACKUP_SCHEDULE: soon(2000),
      RESTORE_CHECK_SCHEDULE: soon(4000),
    });
    const logged: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => logged.push(line) });
    const serving = await serve(config, storage, log);
    let metrics: Record<string, number> = {};
    try {
      const deadline = Date.now() + 150_000;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        metrics = samples(await (await fetch(`${serving.url}/metrics`)).text());
        // (the exporter caches its bucket read 10 s)
        const ran = ['backup', 'restore_check'].filter(
          (task) => `prospectflow_backup_last_run_success{task="${task}"}` in metrics,
        );
        if (ran.length === 2) break;
      }
    } finally {
      await serving.close();
    }
    const logs = logged.join('');
    expect(metrics, logs.slice(-3000)).toMatchObject({
      prospectflow_backup_storage_up: 1,
      'prospectflow_backup_last_run_success{task="backup"}': 1,
      'prospectflow_backup_last_run_success{task="restore_check"}': 1,
      prospectflow_backup_archives: 2,
    });
    expect(metrics['prospectflow_backup_last_run_tables{task="restore_check"}']).toBeGreaterThanOrEqual(20);

    // The bucket: the new archive + checksum; retention removed the two oldest (the newest two
    // complete ones are kept whatever their age) and the incomplete one; other keys untouched.
    const backup = await readStatus(storage, 'backups', 'backup');
    const check = await readStatus(storage, 'backups', 'restore-check');
    expect(backup).toMatchObject({
      ok: true,
      archive: expect.stringMatching(/_full_\d{8}T\d{6}Z\.dump\.gz$/),
    });
    expect(check).toMatchObject({ ok: true, archive: backup!.archive, tables: backup!.tables });
    expect(check!.lastSuccessAt).toBe(check!.finishedAt);
    const left = await keys();
    expect(left).toEqual(
      expect.arrayContaining([backup!.archive, `${backup!.archive}.sha256`, older, `${older}.sha256`]),
    );
    for (const gone of [old, `${old}.sha256`, incomplete]) expect(left).not.toContain(gone);
    expect(left).toEqual(expect.arrayContaining(['backups/notes.txt', 'imports/org/list.csv']));
    // The stored bytes are the archive backup.sh checked: their hash is the checksum file's.
    const bytes = await buffer(await storage.get(backup!.archive!));
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(await text(`${backup!.archive}.sha256`)).toBe(
      `${sha256(bytes)}  ${backup!.archive!.split('/').at(-1)}\n`,
    );
    // Nothing stays behind: no local archive, no scratch database.
    expect(readdirSync(workDir)).toEqual([]);
    expect(await databaseExists(env.RESTORE_CHECK_DATABASE!)).toBe(false);
    expect(logs).toContain('"event":"validate_passed"');
    expect(logs).toMatch(/"event":"progress","step":"restore"/);
  });

  it('a damaged newest archive fails the restore check: non-zero exit, status and metric 0, last success kept', async () => {
    const before = await readStatus(storage, 'backups', 'restore-check');
    // Bit rot after upload: the bytes no longer match the checksum (refused while downloading).
    await putArchive(new Date(Date.now() + 60_000), Buffer.from('rotten'), sha256('original'));
    const config = loadConfig({ ...env, BACKUP_STORAGE_S3_BUCKET: BUCKET });
    await expect(runRestoreCheck(config, storage, createLogger('silent'))).rejects.toThrow(
      /checksum mismatch/,
    );

    // Damaged before upload (checksum of the damaged bytes): restore.sh refuses it.
    await putArchive(new Date(Date.now() + 120_000), Buffer.from('not a gzip stream'));
    const run = await cli(['restore-check']).done;
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('gzip stream is damaged');

    const after = await readStatus(storage, 'backups', 'restore-check');
    expect(after).toMatchObject({ ok: false, lastSuccessAt: before!.lastSuccessAt });
    expect(after!.error).toMatch(/restore\.sh failed \(exit 5\)/);
    const metrics = samples(await backupMetrics(storage, 'backups').metrics());
    expect(metrics['prospectflow_backup_last_run_success{task="restore_check"}']).toBe(0);
    expect(metrics['prospectflow_backup_last_success_timestamp_seconds{task="restore_check"}']).toBe(
      Date.parse(before!.lastSuccessAt!) / 1000,
    );
    expect(await databaseExists(env.RESTORE_CHECK_DATABASE!)).toBe(false);
  });

  it('refuses bad settings with every problem at once, and a scratch name that could be production', async () => {
    const run = await cli(['backup'], {
      BACKUP_BUCKET_RETENTION_DAYS: 'forever',
      RESTORE_CHECK_DATABASE: 'prospectflow',
    }).done;
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('BACKUP_BUCKET_RETENTION_DAYS must be an integer');
    expect(run.stderr).toContain('RESTORE_CHECK_DATABASE must be a lower-case name ending in _restore_check');
    const { code, stderr } = await captured(() => main(['backup'], { ...env, BACKUP_DATABASE_URL: '' }));
    expect(code).toBe(2);
    expect(stderr).toContain('BACKUP_DATABASE_URL is required');
  });

  it('every command answers --help without doing anything', async () => {
    const commands = ['backup', 'restore-check', 'prune', 'list', 'status', 'fetch', 'serve'];
    for (const command of [undefined, ...commands]) {
      const args = command ? [command, '--help'] : ['--help'];
      // Settings that could not work: a command that tried instead of answering would fail.
      const run = await captured(() => main(args, { BACKUP_STORAGE_DRIVER: 'nope' }));
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(new RegExp(`^Usage: prospectflow-backups ${command ?? '<command>'}`));
      expect(run.stdout).toContain('BACKUP_BUCKET_RETENTION_DAYS');
    }
  });
});
