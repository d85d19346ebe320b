import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { migrate, roleUrl, setupDatabase } from '@prospectflow/db-schema';
import { dumpableClusterUrl } from '@prospectflow/testing';
import { withClient, withDatabase } from '../../src/pg.js';

export const INFRA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

/**
 * The cluster the backup tests run against: one pg_dump can back up (see dumpableClusterUrl in
 * @prospectflow/testing).
 */
export const backupClusterUrl = dumpableClusterUrl;

export function uniqueName(label: string): string {
  return `pf_infra_${label}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
}

/** A migrated database made by db-schema's setupDatabase + migrate; returns its superuser URL. */
export async function createMigratedDatabase(clusterUrl: string, name: string): Promise<string> {
  await setupDatabase(clusterUrl, { database: name });
  await migrate(roleUrl(withDatabase(clusterUrl, name), 'migrator'));
  return withDatabase(clusterUrl, name);
}

export async function seedTwoOrganisations(adminUrl: string): Promise<void> {
  const sql = fs.readFileSync(path.join(INFRA_DIR, 'test/support/seed-two-organisations.sql'), 'utf8');
  await withClient(adminUrl, (client) => client.query(sql).then(() => undefined));
}

export async function dropDatabases(clusterUrl: string, prefix: string): Promise<void> {
  await withClient(clusterUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 || '%'`,
      [prefix],
    );
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  });
}

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pf-infra-${label}-`));
}

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of infra/scripts/*.sh with bash, no terminal on stdin; never throws on a non-zero exit. */
export async function runScript(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<ScriptResult> {
  return await runCommand('bash', [path.join(INFRA_DIR, 'scripts', script), ...args], env);
}

/** The repository's `pnpm <script>` (backup, restore) as an operator runs it from `cwd`. */
export async function runPnpmScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<ScriptResult> {
  return await runCommand('pnpm', ['--dir', path.dirname(INFRA_DIR), '-s', script, ...args], env, cwd);
}

async function runCommand(
  file: string,
  args: string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<ScriptResult> {
  try {
    const { stdout, stderr } = await run(file, args, {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
      ...(cwd ? { cwd } : {}),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
