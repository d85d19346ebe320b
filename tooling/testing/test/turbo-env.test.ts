import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const src = path.resolve(import.meta.dirname, '..', 'src');

function sources(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? sources(path.join(dir, entry.name))
        : entry.name.endsWith('.ts')
          ? [path.join(dir, entry.name)]
          : [],
    );
}

/** Every variable the test services read: process.env.X, process.env['X'], findBinary('X', …). */
function variablesRead(): string[] {
  const names = new Set<string>();
  for (const file of sources(src)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const pattern of [
      /process\.env\.([A-Z][A-Z0-9_]*)/g,
      /process\.env\[['"]([A-Z][A-Z0-9_]*)['"]\]/g,
      /findBinary\(\s*['"]([A-Z][A-Z0-9_]*)['"]/g,
    ])
      for (const match of text.matchAll(pattern)) names.add(match[1]!);
  }
  return [...names].sort();
}

describe('turbo.json', () => {
  // turbo runs tasks in strict env mode: a variable a test task does not declare never reaches the
  // tests, so `DOVECOT_BIN=/opt/dovecot/sbin/dovecot pnpm test` (the fix the missing-Dovecot message
  // gives) or TEST_S3_URL (a MinIO instead of s3rver) did nothing under the README's test command.
  it('declares every variable the test services read in every test task', () => {
    const turbo = JSON.parse(fs.readFileSync(path.join(root, 'turbo.json'), 'utf8')) as {
      tasks: Record<string, { env?: string[] }>;
    };
    const read = variablesRead();
    expect(read).toEqual(expect.arrayContaining(['DOVECOT_BIN', 'REDIS_URL', 'TEST_DATABASE_URL']));
    const testTasks = Object.keys(turbo.tasks).filter((name) => name === 'test' || name.endsWith('#test'));
    expect(testTasks.length).toBeGreaterThan(1);
    for (const task of testTasks) {
      const missing = read.filter((name) => !turbo.tasks[task]!.env?.includes(name));
      expect(missing, `turbo.json tasks["${task}"].env`).toEqual([]);
    }
  });
});
