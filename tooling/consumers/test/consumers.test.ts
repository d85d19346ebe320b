import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { testEnvironment } from '@prospectflow/testing';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalRegistry,
  type PublicPackage,
  publishAll,
  repoRoot,
  startRegistry,
} from '../src/registry.js';
import { installedNames, scratchProject } from '../src/scratch.js';

/** Minified browser bundle of contracts (every error code with its status and title) + api-client (openapi-fetch); measured in docs/benchmarks.md. */
const BROWSER_BUDGET_BYTES = 17_000;
/** What a browser app must never install: every server-side package of ours and their stacks. */
const SERVER_PACKAGES = [
  'pg',
  'fastify',
  'ioredis',
  'pino',
  'postgrator',
  'prisma',
  '@prisma/client',
  'aws-jwt-verify',
  '@aws-sdk/client-s3',
  '@aws-sdk/client-kms',
  'nodemailer',
  'imapflow',
];
const BROWSER_PACKAGES = new Set(['@prospectflow/contracts', '@prospectflow/api-client']);

// Outside the workspace: no node_modules above these projects can help them resolve anything.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-consumers-'));
let registry: LocalRegistry;
let published: PublicPackage[];
const exact = (name: string) => published.find((p) => p.name === name)!.version;

beforeAll(async () => {
  registry = await startRegistry(work);
  published = publishAll(registry, work);
});

afterAll(async () => {
  await registry?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('published packages, installed outside the workspace from a local registry', () => {
  it('publishes every public package, each listed here so turbo builds it first', async () => {
    const manifest = JSON.parse(
      fs.readFileSync(path.join(repoRoot, 'tooling/consumers/package.json'), 'utf8'),
    );
    for (const pkg of published) {
      expect(manifest.devDependencies, `${pkg.name} missing from devDependencies`).toHaveProperty(pkg.name);
      const info = (await fetch(`${registry.url}${pkg.name.replace('/', '%2f')}`).then((r) => r.json())) as {
        'dist-tags': Record<string, string>;
      };
      expect(info['dist-tags'].latest, pkg.name).toBe(pkg.version);
    }
    expect(published.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        '@prospectflow/auth-core',
        '@prospectflow/tenant-context',
        '@prospectflow/contracts',
      ]),
    );
  });

  describe('Node services (auth-core + tenant-context against a real PostgreSQL)', () => {
    const dependencies = () => ({
      '@prospectflow/auth-core': exact('@prospectflow/auth-core'),
      '@prospectflow/tenant-context': exact('@prospectflow/tenant-context'),
      pg: '^8.23.1',
    });
    const run = (dir: string, file: string) => {
      const organisationId = randomUUID();
      const out = execFileSync(process.execPath, [file], {
        cwd: dir,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: testEnvironment().adminUrl,
          ORGANISATION_ID: organisationId,
          KEY_DIR: path.join(dir, 'keys'),
        },
      });
      return { organisationId, result: JSON.parse(out.trim().split('\n').at(-1)!) };
    };

    it('ESM: import', () => {
      const dir = scratchProject(work, 'node-esm', dependencies(), registry);
      const { organisationId, result } = run(dir, 'index.mjs');
      expect(result).toEqual({
        verifiedUser: 'esm@consumer.example',
        organisation: organisationId,
        refused: 'no_tenant',
        ownerIsAdmin: true,
      });
    });

    it('CJS: require', () => {
      const dir = scratchProject(work, 'node-cjs', dependencies(), registry);
      const { organisationId, result } = run(dir, 'index.cjs');
      expect(result).toEqual({
        verifiedUser: 'cjs@consumer.example',
        organisation: organisationId,
        refused: 'no_tenant',
        ownerIsAdmin: true,
      });
    });
  });

  it('TypeScript (nodenext and node16, strict, skipLibCheck off) type-checks against the published declarations', {
    timeout: 300_000,
  }, () => {
    const dir = scratchProject(
      work,
      'typescript',
      {
        '@prospectflow/auth-core': exact('@prospectflow/auth-core'),
        '@prospectflow/config': exact('@prospectflow/config'),
        '@prospectflow/tenant-context': exact('@prospectflow/tenant-context'),
        '@prospectflow/contracts': exact('@prospectflow/contracts'),
        '@prospectflow/field-rules': exact('@prospectflow/field-rules'),
        '@prospectflow/api-client': exact('@prospectflow/api-client'),
        '@prospectflow/mailboxes': exact('@prospectflow/mailboxes'),
        pg: '^8.23.1',
        '@types/pg': '^8.23.1',
        '@types/node': '^20.19.0',
      },
      registry,
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    // Strict and lib checks on; `@ts-expect-error` lines in the fixture make it fail if the
    // published types were `any` or wrong (an unused expect-error is an error).
    const check = spawnSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
    // A CommonJS project under `module: node16`, which has no require(esm): the .d.cts alone.
    const node16 = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.node16.json'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(node16.stdout + node16.stderr).toBe('');
    expect(node16.status).toBe(0);

    // skipLibCheck hides what a consumer with skipLibCheck false sees: every module our published
    // declarations import must resolve, from where npm installed them, to declarations (not to
    // untyped JavaScript, TS7016, nor to nothing, TS2307): the package declares what its types need.
    expect(unresolvedDeclarationImports(dir)).toEqual([]);
  });

  it('bundled Node service: the bundler keeps telemetry/register, imported for its side effect', async () => {
    const dir = scratchProject(
      work,
      'bundled-service',
      { '@prospectflow/telemetry': exact('@prospectflow/telemetry') },
      registry,
    );
    // Our packages go into the bundle; the OpenTelemetry libraries stay external (they load
    // Node built-ins through require, which an ESM bundle cannot do), resolved from node_modules.
    await esbuild.build({
      absWorkingDir: dir,
      entryPoints: ['index.mjs'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      external: ['@opentelemetry/*', '@fastify/otel'],
      outfile: 'out/service.mjs',
      logLevel: 'silent',
    });
    const out = execFileSync(process.execPath, ['out/service.mjs'], {
      cwd: dir,
      encoding: 'utf8',
      // Tracing requested; nothing is exported (no span), so the endpoint is never reached.
      env: {
        PATH: process.env.PATH,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      },
    });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ tracing: true });
  });

  it('browser: contracts + api-client bundle with no Node built-ins, under budget, and no server package installed', async () => {
    const browser = published.filter((p) => BROWSER_PACKAGES.has(p.name));
    expect(browser.map((p) => p.name).sort()).toEqual([...BROWSER_PACKAGES].sort());
    const dir = scratchProject(
      work,
      'browser',
      Object.fromEntries(browser.map((p) => [p.name, p.version])),
      registry,
    );
    const installed = installedNames(dir);
    const server = [...installed].filter(
      (name) =>
        SERVER_PACKAGES.includes(name) || (name.startsWith('@prospectflow/') && !BROWSER_PACKAGES.has(name)),
    );
    expect(server).toEqual([]);

    // platform browser: an import of a Node built-in fails to resolve (never marked external).
    const result = await esbuild.build({
      absWorkingDir: dir,
      entryPoints: ['entry.js'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      minify: true,
      write: false,
      metafile: true,
      outdir: 'out',
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    expect(inputs.filter((input) => builtins.has(input))).toEqual([]);
    for (const pkg of BROWSER_PACKAGES) expect(inputs.some((input) => input.includes(pkg))).toBe(true);
    const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
    console.log(`browser bundle (${browser.map((p) => p.name).join(' + ')}): ${bytes} B minified`);
    expect(bytes).toBeLessThanOrEqual(BROWSER_BUDGET_BYTES);
  });
});

/**
 * `package (file) → import` for each bare import of an installed @prospectflow declaration file
 * that does not resolve to types the package itself declares (dependency or peer): resolving only
 * through something npm happened to hoist, or the consumer installed, does not count.
 */
function unresolvedDeclarationImports(dir: string): string[] {
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  const options = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
  const scope = path.join(dir, 'node_modules', '@prospectflow');
  const declarations = /\.d\.(?:c|m)?ts$/;
  const typed = new Set<string>([ts.Extension.Dts, ts.Extension.Dcts, ts.Extension.Dmts]);
  const problems: string[] = [];
  const walk = (folder: string): string[] =>
    fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : walk(full);
      return declarations.test(entry.name) ? [full] : [];
    });
  for (const name of fs.readdirSync(scope)) {
    const manifest = JSON.parse(fs.readFileSync(path.join(scope, name, 'package.json'), 'utf8'));
    const declared = new Set(
      Object.keys({
        ...manifest.dependencies,
        ...manifest.peerDependencies,
        ...manifest.optionalDependencies,
      }),
    );
    for (const file of walk(path.join(scope, name))) {
      const mode = file.endsWith('.d.cts') ? ts.ModuleKind.CommonJS : ts.ModuleKind.ESNext;
      const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
      for (const { fileName: specifier } of importedFiles) {
        // Relative files are the package's own; Node's built-ins are typed by the consumer's @types/node.
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        const { resolvedModule } = ts.resolveModuleName(
          specifier,
          file,
          options,
          ts.sys,
          undefined,
          undefined,
          mode,
        );
        const provider = resolvedModule?.packageId?.name;
        if (!resolvedModule || !typed.has(resolvedModule.extension) || !provider || !declared.has(provider)) {
          problems.push(
            `@prospectflow/${name} (${path.basename(file)}) → ${specifier} (types from ${provider ?? 'nowhere'})`,
          );
        }
      }
    }
  }
  return [...new Set(problems)].sort();
}
