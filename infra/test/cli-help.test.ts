import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** Every script path the docs and READMEs tell an operator to run. */
function documentedScripts(): string[] {
  const docs = [
    ...fs.readdirSync(path.join(repo, 'docs'), { recursive: true, encoding: 'utf8' }).map((f) => `docs/${f}`),
    'README.md',
    'infra/README.md',
  ].filter((file) => file.endsWith('.md'));
  const found = new Set<string>();
  for (const doc of docs) {
    const text = fs.readFileSync(path.join(repo, doc), 'utf8');
    for (const match of text.matchAll(/\b(?:infra|tooling|scripts)\/[\w./-]+\.(?:sh|mjs)\b/g)) {
      if (fs.existsSync(path.join(repo, match[0]))) found.add(match[0]);
    }
  }
  return [...found].sort();
}

describe('CLIs behave like CLIs', () => {
  it('every script the runbooks call is executable and starts with a shebang', () => {
    const scripts = documentedScripts();
    expect(scripts).toEqual(expect.arrayContaining(['infra/scripts/backup.sh', 'infra/scripts/restore.sh']));
    for (const script of scripts) {
      const file = path.join(repo, script);
      expect({ script, executable: (fs.statSync(file).mode & 0o111) === 0o111 }).toEqual({
        script,
        executable: true,
      });
      expect(fs.readFileSync(file, 'utf8').split('\n', 1)[0]).toMatch(
        /^#!(\/usr\/bin\/env (bash|sh|node)|\/bin\/(ba)?sh)$/,
      );
    }
  });

  // Variables point at nothing that exists: a command that tried to work instead of answering
  // --help would fail, and the empty backup folder would not stay empty.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-cli-help-'));
  const env = {
    ...process.env,
    BACKUP_DIR: scratch,
    BACKUP_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    DATABASE_ADMIN_URL: 'postgres://nobody@127.0.0.1:1/none',
    LOAD_ADMIN_URL: 'postgres://nobody@127.0.0.1:1/none',
    LOAD_OUTPUT: path.join(scratch, 'load.md'),
  };
  const commands: [string, string[], RegExp][] = [
    ['infra/scripts/backup.sh', ['--help'], /usage: backup\.sh/i],
    ['infra/scripts/restore.sh', ['--help'], /usage: restore\.sh/i],
    ['infra/scripts/test-images.sh', ['--help'], /usage: infra\/scripts\/test-images\.sh/],
    ['infra/scripts/db-setup.mjs', ['--help'], /usage: node scripts\/db-setup\.mjs/],
    ['tooling/dev/start.mjs', ['--help'], /^Usage: pnpm dev/],
    ['scripts/prepare.mjs', ['--help'], /^usage: node scripts\/prepare\.mjs/],
    [process.execPath, ['--import', 'tsx', 'scripts/load.ts', '--help'], /Load test:/],
    [
      process.execPath,
      ['--import', 'tsx', '../apps/backups/src/cli.ts', '--help'],
      /^Usage: prospectflow-backups/,
    ],
    [
      process.execPath,
      ['--import', 'tsx', '../packages/db-schema/scripts/pull-prisma-schema.ts', '--help'],
      /^Usage: MIGRATION_DATABASE_URL=… pnpm db:pull-prisma/,
    ],
    // `pnpm <script> -- --help`: pnpm passes its `--` through to the command.
    ['infra/scripts/backup.sh', ['--', '--help'], /usage: backup\.sh/i],
    ['infra/scripts/restore.sh', ['--', '--help'], /usage: restore\.sh/i],
    [
      process.execPath,
      ['--import', 'tsx', '../apps/backups/src/cli.ts', '--', '--help'],
      /^Usage: prospectflow-backups/,
    ],
    [
      process.execPath,
      ['--import', 'tsx', '../apps/legacy-import/src/cli.ts', '--', '--help'],
      /^Usage:\n {2}import:sqlite/,
    ],
    [
      process.execPath,
      ['--import', 'tsx', '../packages/auth-core/src/token-cli.ts', '--', '--help'],
      /^usage: pnpm token/,
    ],
  ];
  for (const [command, args, usage] of commands) {
    const script = path.basename(args.find((a) => /\.(ts|mjs|sh)$/.test(a)) ?? command);
    it(`${script} ${args.slice(args.indexOf('--help') - (args.includes('--') ? 1 : 0)).join(' ')} prints its usage, exits 0 and does nothing else`, () => {
      const run = spawnSync(command.startsWith('/') ? command : path.join(repo, command), args, {
        cwd: path.join(repo, 'infra'),
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      expect(run.stdout).toMatch(usage);
      // The usage only: restore.sh --help printed three lines of its code after it.
      expect(run.stdout).not.toMatch(/^(set -euo|export |here=|source )/m);
      expect(fs.readdirSync(scratch)).toEqual([]);
    });
  }

  // An unknown option is an error (exit 2, said on stderr), never a value: not a database named
  // `--bogus`, not a directory to write into, not a load test or a build to start.
  const refusals: [string, string[]][] = [
    ['infra/scripts/backup.sh', ['--bogus']],
    ['infra/scripts/restore.sh', ['--bogus']],
    ['infra/scripts/test-images.sh', ['--bogus']],
    ['infra/scripts/db-setup.mjs', ['--bogus']],
    ['infra/scripts/db-setup.mjs', ['postgres://nobody@127.0.0.1:1/none', 'db', 'extra']],
    ['tooling/dev/start.mjs', ['--bogus']],
    [process.execPath, ['--import', 'tsx', 'scripts/load.ts', '--bogus']],
    [process.execPath, ['--import', 'tsx', '../apps/backups/src/cli.ts', '--bogus']],
    [process.execPath, ['--import', 'tsx', '../packages/db-schema/scripts/pull-prisma-schema.ts', '--bogus']],
    [process.execPath, ['--import', 'tsx', '../apps/legacy-import/src/example-stores-cli.ts', '--bogus']],
  ];
  for (const [command, args] of refusals) {
    const script = path.basename(args.find((a) => /\.(ts|mjs|sh)$/.test(a)) ?? command);
    it(`${script} ${args.filter((a) => !a.includes('/') && a !== '--import' && a !== 'tsx').join(' ')} is refused: exit 2, nothing done`, () => {
      const run = spawnSync(command.startsWith('/') ? command : path.join(repo, command), args, {
        cwd: path.join(repo, 'infra'),
        env: { ...env, INIT_CWD: scratch },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 2, stdout: '' });
      expect(run.stderr).not.toBe('');
      expect(fs.readdirSync(scratch)).toEqual([]);
    });
  }
});
