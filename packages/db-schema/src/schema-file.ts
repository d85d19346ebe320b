import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withClient } from './client.js';
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
  const scratchUrl = withDatabase(adminUrl, name);
  try {
    await prepareTestTemplate(adminUrl, scratchUrl);
    return await withClient(scratchUrl, renderSchemaSnapshot);
  } finally {
    await withClient(adminUrl, (admin) =>
      admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`),
    ).catch(() => {});
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
