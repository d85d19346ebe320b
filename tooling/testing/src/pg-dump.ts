import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { serverVersion } from './postgres.js';

const MACHINE_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Major version of a PostgreSQL client tool (`pg_dump --version` → 15). */
export function toolMajor(tool: string): number {
  const out = execFileSync(tool, ['--version'], { encoding: 'utf8' });
  const match = /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^0-9]*/, ''));
  if (!match) throw new Error(`cannot read the version of ${tool}: ${out}`);
  return Number(match[1]);
}

/**
 * A superuser URL of a cluster this machine's pg_dump can back up. pg_dump refuses servers newer
 * than itself, and the default test cluster is an embedded PostgreSQL 18 (its npm package ships
 * no pg_dump) while Debian's client is 15. So: INFRA_TEST_DATABASE_URL, else TEST_DATABASE_URL
 * when pg_dump can dump it, else the machine's PostgreSQL on 127.0.0.1:5432. Fails (never skips)
 * when none fits. PG_BIN_DIR points at another client.
 */
export async function dumpableClusterUrl(): Promise<string> {
  const pgDump = process.env.PG_BIN_DIR ? join(process.env.PG_BIN_DIR, 'pg_dump') : 'pg_dump';
  const client = toolMajor(pgDump);
  const candidates = [
    process.env.INFRA_TEST_DATABASE_URL,
    process.env.TEST_DATABASE_URL,
    MACHINE_POSTGRES,
  ].filter((c): c is string => Boolean(c));
  const tried: string[] = [];
  for (const url of candidates) {
    try {
      const server = Number((await serverVersion(url)).split('.')[0]);
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
