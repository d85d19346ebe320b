#!/usr/bin/env node
// Creates (or repairs) a ProspectFlow database with db-schema's setupDatabase: roles, database
// owned by prospectflow_migrator, extensions, grants. Idempotent; the one source of role SQL.
// usage: node scripts/db-setup.mjs [ADMIN_URL] DATABASE   (ADMIN_URL: superuser, any existing database;
// without it, DATABASE_ADMIN_URL: prefer the variable, a command line is visible to every local user)
import { setupDatabase } from '@prospectflow/db-schema';

const USAGE =
  'usage: node scripts/db-setup.mjs [ADMIN_URL] DATABASE   (ADMIN_URL: superuser, any existing database;\n' +
  '       default $DATABASE_ADMIN_URL, preferred: arguments are visible to every local user)\n';
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const [adminUrl, database] = args.length === 1 ? [process.env.DATABASE_ADMIN_URL, args[0]] : args;
// `--bogus` is an unknown option, not a database to create; a third argument is a mistake too.
if (!adminUrl || !database || args.length > 2 || args.some((arg) => arg.startsWith('-'))) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const result = await setupDatabase(adminUrl, { database });
process.stdout.write(`${JSON.stringify({ event: 'db_setup', ...result })}\n`);
