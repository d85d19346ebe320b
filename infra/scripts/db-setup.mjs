#!/usr/bin/env node
// Creates (or repairs) a ProspectFlow database with db-schema's setupDatabase: roles, database
// owned by prospectflow_migrator, extensions, grants. Idempotent; the one source of role SQL.
// usage: node scripts/db-setup.mjs ADMIN_URL DATABASE   (ADMIN_URL: superuser, any existing database)
import { setupDatabase } from '@prospectflow/db-schema';

const USAGE =
  'usage: node scripts/db-setup.mjs ADMIN_URL DATABASE   (ADMIN_URL: superuser, any existing database)\n';
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const [adminUrl, database] = args;
if (!adminUrl || !database) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const result = await setupDatabase(adminUrl, { database });
process.stdout.write(`${JSON.stringify({ event: 'db_setup', ...result })}\n`);
