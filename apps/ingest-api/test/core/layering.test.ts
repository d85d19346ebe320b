import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const SQL = /\b(SELECT\s+[\w*"]|INSERT\s+INTO|UPDATE\s+[\w.]+\s+SET|DELETE\s+FROM)\b|\.query\s*[<(]/;

/** Route files that may still hold SQL until they move (none left: imports run in the worker). */
const PENDING_MOVE: string[] = [];

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join(dir, file));
}

describe('layering', () => {
  it('route files hold no SQL: every statement lives in a repository (src/repositories) or a domain module', () => {
    const routeFiles = files(path.join(src, 'routes')).filter(
      (file) => !PENDING_MOVE.includes(path.relative(src, file)),
    );
    const offenders = routeFiles.flatMap((file) =>
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${path.relative(src, file)}:${i + 1}` }))
        .filter(({ line }) => SQL.test(line))
        .map(({ at, line }) => `${at} ${line.trim()}`),
    );
    expect(offenders).toEqual([]);
    // Delete an entry once its file has moved, so the exception cannot outlive it.
    expect(PENDING_MOVE.filter((file) => !fs.existsSync(path.join(src, file)))).toEqual([]);
  });

  it('tenant units for a named organisation go through withTenant, never a hand-made wrapper', () => {
    const wrappers = files(src).filter((file) =>
      /runWithTenant\([^)]*\)\s*=>\s*withTenantClient|runWithTenant\(\s*\{[^}]*\},\s*\(\)\s*=>\s*\n?\s*withTenantClient/.test(
        fs.readFileSync(file, 'utf8'),
      ),
    );
    expect(wrappers.map((file) => path.relative(src, file))).toEqual([]);
  });

  it('no source file of an app, a package or a tool is over 400 lines (issue 15)', () => {
    const repo = path.resolve(src, '../../..');
    const sources = ['apps', 'packages', 'tooling'].flatMap((group) =>
      fs.readdirSync(path.join(repo, group)).flatMap((workspace) => {
        const dir = path.join(repo, group, workspace, 'src');
        return fs.existsSync(dir) ? files(dir).concat(scripts(dir)) : [];
      }),
    );
    const long = sources
      .map((file) => ({
        file: path.relative(repo, file),
        lines: fs.readFileSync(file, 'utf8').split('\n').length - 1,
      }))
      .filter(({ lines }) => lines > 400);
    expect(sources.length).toBeGreaterThan(200);
    expect(long).toEqual([]);
  });
});

/** Plain JavaScript sources (`.mjs`, `.js`), beside the TypeScript `files` lists. */
function scripts(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.m?js$/.test(file))
    .map((file) => path.join(dir, file));
}
