import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MigrationChecksumError, migrate, migrationStatus, undoLastMigration } from '../src/migrations.js';
import { ROLES, roleUrl } from '../src/roles.js';
import { query, scratchDatabase } from './support/scratch.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const good = path.join(fixtures, 'migrations');
const broken = path.join(fixtures, 'broken');

async function migratorUrl(label: string): Promise<string> {
  const { adminUrl } = await scratchDatabase(label);
  return roleUrl(adminUrl, ROLES.migrator);
}

async function columns(url: string): Promise<string[]> {
  const rows = await query<{ column_name: string }>(
    url,
    `SELECT column_name FROM information_schema.columns WHERE table_schema = 'fixture' ORDER BY column_name`,
  );
  return rows.map((r) => r.column_name);
}

describe('postgrator runner', () => {
  it('applies pending migrations in version order, records them, and is a no-op the second time', async () => {
    const url = await migratorUrl('run');
    const applied = await migrate(url, { migrationsDir: good });
    expect(applied.map((m) => `${m.version}.${m.action}.${m.name}`)).toEqual([
      '20250101000000.do.first',
      '20250102000000.do.second',
    ]);
    expect(await columns(url)).toEqual(['id', 'label', 'name']);
    expect(await migrate(url, { migrationsDir: good })).toEqual([]);
    const status = await migrationStatus(url, { migrationsDir: good });
    expect(status.currentVersion).toBe(20250102000000);
    expect(status.pending).toEqual([]);
    expect(status.applied.map((m) => [m.version, m.name, m.changed])).toEqual([
      [20250101000000, 'first', false],
      [20250102000000, 'second', false],
    ]);
  });

  it('undoes only the last migration, then re-applies it', async () => {
    const url = await migratorUrl('undo');
    await migrate(url, { migrationsDir: good });
    const undone = await undoLastMigration(url, { migrationsDir: good });
    expect(undone.map((m) => `${m.version}.${m.action}`)).toEqual(['20250102000000.undo']);
    expect(await columns(url)).toEqual(['id', 'name']);
    const status = await migrationStatus(url, { migrationsDir: good });
    expect(status.currentVersion).toBe(20250101000000);
    expect(status.pending.map((m) => m.name)).toEqual(['second']);
    await migrate(url, { migrationsDir: good });
    expect(await columns(url)).toEqual(['id', 'label', 'name']);
  });

  it('refuses to run when an applied migration file changed, naming the file', async () => {
    const url = await migratorUrl('sum');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-migrations-'));
    for (const file of fs.readdirSync(good)) fs.copyFileSync(path.join(good, file), path.join(dir, file));
    try {
      await migrate(url, { migrationsDir: dir });
      fs.appendFileSync(path.join(dir, '20250101000000.do.first.sql'), '\n-- edited after it ran\n');
      const error = await migrate(url, { migrationsDir: dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationChecksumError);
      expect((error as Error).message).toContain('20250101000000.do.first.sql');
      const status = await migrationStatus(url, { migrationsDir: dir });
      expect(status.applied.find((m) => m.version === 20250101000000)?.changed).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a migration file older than the current version that was never applied', async () => {
    const url = await migratorUrl('late');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-migrations-'));
    for (const file of fs.readdirSync(good)) fs.copyFileSync(path.join(good, file), path.join(dir, file));
    try {
      await migrate(url, { migrationsDir: dir });
      fs.writeFileSync(path.join(dir, '20250101120000.do.late.sql'), 'CREATE TABLE fixture.late (id int);\n');
      fs.writeFileSync(path.join(dir, '20250101120000.undo.late.sql'), 'DROP TABLE fixture.late;\n');
      await expect(migrate(url, { migrationsDir: dir })).rejects.toThrow(
        /20250101120000\.do\.late\.sql is older than/,
      );
      const status = await migrationStatus(url, { migrationsDir: dir });
      expect(status.outOfOrder.map((m) => m.name)).toEqual(['late']);
      expect(status.pending).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rolls a failing migration back entirely, history included, and names its file', async () => {
    const url = await migratorUrl('fail');
    const error = await migrate(url, { migrationsDir: broken }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('20250102000000.do.fails.sql');
    expect((error as { code?: string }).code).toBe('22012');
    const tables = await query(url, `SELECT 1 FROM pg_tables WHERE tablename = 'half_done'`);
    expect(tables).toHaveLength(0);
    const status = await migrationStatus(url, { migrationsDir: broken });
    expect(status.currentVersion).toBe(20250101000000);
    expect(status.pending.map((m) => m.name)).toEqual(['fails']);
  });

  it('serialises concurrent runs: both succeed, each migration applied once', async () => {
    const url = await migratorUrl('race');
    const [a, b] = await Promise.all([
      migrate(url, { migrationsDir: good }),
      migrate(url, { migrationsDir: good }),
    ]);
    expect(a.length + b.length).toBe(2);
    const rows = await query(url, 'SELECT version FROM public.schema_version WHERE version > 0');
    expect(rows).toHaveLength(2);
  });

  it('the migrator owns what the migrations create', async () => {
    const url = await migratorUrl('own');
    await migrate(url, { migrationsDir: good });
    const rows = await query<{ owner: string }>(
      url,
      `SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname IN ('things', 'schema_version')`,
    );
    expect(rows.map((r) => r.owner)).toEqual([ROLES.migrator, ROLES.migrator]);
  });
});
