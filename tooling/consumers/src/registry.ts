import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@prospectflow/testing/ports';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Kept between runs: Verdaccio's copies of third-party packages (never our own, see below). */
const cacheDir = path.join(repoRoot, 'tooling', 'consumers', 'node_modules', '.cache', 'verdaccio');

export interface PublicPackage {
  name: string;
  version: string;
  dir: string;
}

/** Every workspace package under packages/ that is not private: what a release publishes. */
export function publicPackages(): PublicPackage[] {
  const root = path.join(repoRoot, 'packages');
  return fs
    .readdirSync(root)
    .map((name) => path.join(root, name))
    .filter((dir) => fs.existsSync(path.join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ dir, manifest }) => ({ name: manifest.name, version: manifest.version, dir }));
}

export interface LocalRegistry {
  url: string;
  /** An .npmrc that reads from and publishes to this registry only. */
  npmrc: string;
  stop(): Promise<void>;
}

/**
 * A throw-away Verdaccio on 127.0.0.1: @prospectflow/* only from what this run publishes (no
 * uplink, so a stale or foreign copy can never satisfy an install); everything else proxied to
 * the npm registry this machine uses, cached between runs.
 */
export async function startRegistry(work: string): Promise<LocalRegistry> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const upstream = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.rmSync(path.join(cacheDir, '@prospectflow'), { recursive: true, force: true });
  const config = path.join(work, 'verdaccio.yaml');
  fs.writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(cacheDir)}`,
      `auth: { htpasswd: { file: ${JSON.stringify(path.join(work, 'htpasswd'))}, max_users: -1 } }`,
      `uplinks: { npmjs: { url: ${JSON.stringify(upstream)}, timeout: 60s } }`,
      'packages:',
      "  '@prospectflow/*': { access: $all, publish: $anonymous, unpublish: $anonymous }",
      "  '**': { access: $all, publish: $anonymous, proxy: npmjs }",
      'web: { enable: false }',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  const bin = path.join(
    path.dirname(createRequire(import.meta.url).resolve('verdaccio/package.json')),
    'bin',
    'verdaccio',
  );
  const log = fs.openSync(path.join(work, 'verdaccio.log'), 'a');
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, '--config', config, '--listen', `127.0.0.1:${port}`],
    {
      stdio: ['ignore', log, log],
    },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${url}-/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(
        `Verdaccio did not start: ${fs.readFileSync(path.join(work, 'verdaccio.log'), 'utf8')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const host = url.replace(/^http:/, '');
  // npm will not publish without a token even when the registry allows anonymous publishing.
  const npmrc = `registry=${url}\n@prospectflow:registry=${url}\n${host}:_authToken=local-verdaccio\n`;
  return {
    url,
    npmrc,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Publishes every public package the way a release does (`pnpm publish`: workspace ranges
 * rewritten to versions, `files` and `exports` as shipped), from the built workspace.
 */
export function publishAll(registry: LocalRegistry, work: string): PublicPackage[] {
  const userconfig = path.join(work, 'publish.npmrc');
  fs.writeFileSync(userconfig, registry.npmrc);
  const packages = publicPackages();
  for (const pkg of packages) {
    execFileSync('pnpm', ['publish', '--no-git-checks', '--registry', registry.url], {
      cwd: pkg.dir,
      env: { ...process.env, NPM_CONFIG_USERCONFIG: userconfig, npm_config_userconfig: userconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
  return packages;
}
