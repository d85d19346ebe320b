import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { migrate, roleUrl, setupDatabase } from '@prospectflow/db-schema';
import { serverMajor, toolMajor, withClient, withDatabase } from '../../src/pg.js';

export const INFRA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

const MACHINE_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * The cluster the backup tests run against. pg_dump refuses servers newer than itself, and the
 * machine's client is PostgreSQL 15 while the default test cluster is an embedded PostgreSQL 18
 * (which ships no pg_dump). So: INFRA_TEST_DATABASE_URL, else TEST_DATABASE_URL when pg_dump can
 * dump it, else the machine's PostgreSQL on 127.0.0.1:5432. Fails (never skips) when none fits.
 */
export async function backupClusterUrl(): Promise<string> {
  const pgDump = process.env.PG_BIN_DIR ? path.join(process.env.PG_BIN_DIR, 'pg_dump') : 'pg_dump';
  const client = toolMajor(pgDump);
  const candidates = [
    process.env.INFRA_TEST_DATABASE_URL,
    process.env.TEST_DATABASE_URL,
    MACHINE_POSTGRES,
  ].filter((c): c is string => Boolean(c));
  const tried: string[] = [];
  for (const url of candidates) {
    try {
      const server = await serverMajor(url);
      if (server <= client) return url;
      tried.push(`${new URL(url).host}: PostgreSQL ${server} is newer than pg_dump ${client}`);
    } catch (error) {
      tried.push(`${new URL(url).host}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    `No PostgreSQL that pg_dump ${client} can back up. Tried: ${tried.join('; ')}. ` +
      'Set INFRA_TEST_DATABASE_URL to a superuser URL of a server no newer than pg_dump, or PG_BIN_DIR to a newer client.',
  );
}

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
  try {
    const { stdout, stderr } = await run('bash', [path.join(INFRA_DIR, 'scripts', script), ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
