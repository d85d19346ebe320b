import { createTestDatabase, testEnvironment } from '@prospectflow/testing';
import { expect, it, vi } from 'vitest';
import { runCli } from '../src/cli.js';
import { ROLES, roleUrl } from '../src/roles.js';

it('names the missing variable and exits 2', async () => {
  const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    expect(await runCli(['migrate'], {}, () => {})).toBe(2);
    expect(errors.mock.calls.at(-1)?.[0]).toContain('MIGRATION_DATABASE_URL is not set');
    expect(await runCli(['setup'], { MIGRATION_DATABASE_URL: 'postgres://x/y' }, () => {})).toBe(2);
    expect(errors.mock.calls.at(-1)?.[0]).toContain('DATABASE_ADMIN_URL is not set');
  } finally {
    errors.mockRestore();
  }
});

it("refuses a URL's short or published password in production, naming the variable only (exit 2)", async () => {
  const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const url = 'postgres://prospectflow_migrator:change-me-migrator@db.invalid:5432/prospectflow';
    expect(await runCli(['migrate'], { NODE_ENV: 'production', MIGRATION_DATABASE_URL: url }, () => {})).toBe(
      2,
    );
    const message = String(errors.mock.calls.at(-1)?.[0]);
    expect(message).toContain('MIGRATION_DATABASE_URL (its password) is a published example value');
    expect(message).not.toContain('change-me-migrator');
  } finally {
    errors.mockRestore();
  }
});

it('setup, migrate, status, seed and validate on a new database print what they did', async () => {
  const environment = testEnvironment();
  const name = `${environment.runPrefix}_cli`;
  const migratorUrl = roleUrl(environment.adminUrl.replace(/\/[^/]*$/, `/${name}`), ROLES.migrator);
  const env = { DATABASE_ADMIN_URL: environment.adminUrl, MIGRATION_DATABASE_URL: migratorUrl };
  const lines: string[] = [];
  const out = (line: string) => lines.push(line);
  expect(await runCli(['setup'], env, out)).toBe(0);
  expect(lines.at(-1)).toContain(`setup ${name}: database created`);
  expect(await runCli(['migrate'], env, out)).toBe(0);
  expect(lines.at(-1)).toMatch(/^applied \d+ /m);
  expect(await runCli(['migrate'], env, out)).toBe(0);
  expect(lines.at(-1)).toBe('up to date');
  expect(await runCli(['status'], env, out)).toBe(0);
  expect(lines.at(-1)).toMatch(/^current (\d+), latest \1$/);
  expect(await runCli(['seed'], env, out)).toBe(0);
  lines.length = 0;
  expect(await runCli(['validate'], env, out)).toBe(0);
  expect(lines.filter((l) => l.startsWith('PASS')).length).toBeGreaterThan(20);
  expect(lines.at(-1)).toMatch(/^all \d+ checks passed$/);
  const db = await createTestDatabase('cli_undo');
  try {
    const undoEnv = { MIGRATION_DATABASE_URL: roleUrl(db.adminUrl, ROLES.migrator) };
    expect(await runCli(['undo'], undoEnv, out)).toBe(0);
    expect(lines.at(-1)).toMatch(/^undid \d+ /);
    lines.length = 0;
    expect(await runCli(['validate'], undoEnv, out)).toBe(1);
    expect(lines.find((l) => l.startsWith('FAIL  migration-history'))).toBeDefined();
  } finally {
    await db.drop();
  }
}, 120_000);

it('answers --help for every command with its usage, exit 0, and touches no database', async () => {
  // An unreachable URL: any attempt to connect would fail the command.
  const env = {
    MIGRATION_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    DATABASE_ADMIN_URL: 'postgres://x@127.0.0.1:1/x',
  };
  for (const argv of [
    ['--help'],
    ['-h'],
    ['help'],
    [],
    ['migrate', '--help'],
    ['setup', '-h'],
    ['erd', '--out', 'x', '--help'],
  ]) {
    const lines: string[] = [];
    expect(await runCli(argv, env, (line) => lines.push(line))).toBe(0);
    expect(lines.join('\n')).toMatch(/^Usage: prospectflow-db/);
  }
  const lines: string[] = [];
  await runCli(['undo', '--help'], env, (line) => lines.push(line));
  expect(lines.join('\n')).toContain('undo the last applied migration');
  const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    expect(await runCli(['migrat'], env, () => {})).toBe(2);
    expect(errors.mock.calls.at(-1)?.[0]).toContain('unknown command "migrat"');
  } finally {
    errors.mockRestore();
  }
});

it('refuses an unknown option or argument with exit 2 before touching a database (db:undo --dry-run must not undo)', async () => {
  // A reachable, migrated database of its own: a command that ignored the bad argument would run.
  const db = await createTestDatabase('cli_arguments');
  const env = {
    MIGRATION_DATABASE_URL: roleUrl(db.adminUrl, ROLES.migrator),
    DATABASE_ADMIN_URL: db.adminUrl,
  };
  const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    for (const argv of [
      ['status', '--bogus'],
      ['undo', '--dry-run'],
      ['migrate', 'now'],
      ['seed', '-x'],
      ['erd', '--out'],
      ['schema', '--outt', 'x.sql'],
    ]) {
      const lines: string[] = [];
      expect(await runCli(argv, env, (line) => lines.push(line)), argv.join(' ')).toBe(2);
      expect(lines, argv.join(' ')).toEqual([]);
      expect(String(errors.mock.calls.at(-1)?.[0]), argv.join(' ')).toContain(
        `Usage: prospectflow-db ${argv[0]}`,
      );
    }
    // `pnpm db:erd -- --out file` (the README's form) reaches the command: here it asks for its URL.
    expect(await runCli(['erd', '--', '--out', 'erd.md'], {}, () => {})).toBe(2);
    expect(String(errors.mock.calls.at(-1)?.[0])).toContain('MIGRATION_DATABASE_URL is not set');
    const lines: string[] = [];
    expect(await runCli(['status'], env, (line) => lines.push(line))).toBe(0);
    expect(lines.at(-1)).toMatch(/^current (\d+), latest \1$/);
  } finally {
    errors.mockRestore();
    await db.drop();
  }
});
