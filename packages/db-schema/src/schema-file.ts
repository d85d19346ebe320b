import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { withFunctionList } from './contracts-doc.js';
import { renderSchemaSnapshot } from './schema-snapshot.js';
import { prepareTestTemplate } from './test-template.js';
import { ident, withDatabase } from './urls.js';

/** Where `pnpm db:schema` writes the snapshot (committed). */
export const SCHEMA_FILE = fileURLToPath(new URL('../schema.sql', import.meta.url));
/** The document whose function list is generated from the snapshot. */
export const CONTRACTS_FILE = fileURLToPath(new URL('../../../docs/CONTRACTS.md', import.meta.url));

/**
 * Renders the snapshot from a scratch database created on the cluster of `adminUrl` (a superuser
 * URL), set up and migrated from scratch, then dropped: what every migration adds up to.
 */
export async function snapshotFreshDatabase(adminUrl: string): Promise<string> {
  const name = `prospectflow_schema_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const scratchUrl = withDatabase(adminUrl, name);
    await prepareTestTemplate(adminUrl, scratchUrl);
    const client = new pg.Client({ connectionString: scratchUrl });
    await client.connect();
    try {
      return await renderSchemaSnapshot(client);
    } finally {
      await client.end();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}

/** Writes the snapshot, and (default location only) CONTRACTS.md's function list from it. */
export async function writeSchemaFile(adminUrl: string, file = SCHEMA_FILE): Promise<string> {
  const snapshot = await snapshotFreshDatabase(adminUrl);
  fs.writeFileSync(file, snapshot);
  if (file === SCHEMA_FILE && fs.existsSync(CONTRACTS_FILE))
    fs.writeFileSync(CONTRACTS_FILE, withFunctionList(fs.readFileSync(CONTRACTS_FILE, 'utf8'), snapshot));
  return file;
}
