#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { urlPasswordProblem } from '@prospectflow/config';
import pg from 'pg';
import { readCatalog } from './catalog.js';
import { renderErdDocument } from './erd.js';
import { migrate, migrationStatus, undoLastMigration } from './migrations.js';
import { writeSchemaFile } from './schema-file.js';
import { seedDemo } from './seed.js';
import { setupDatabase } from './setup.js';
import { databaseOf, redactUrl } from './urls.js';
import { runValidation } from './validation/index.js';

const VARIABLES = {
  DATABASE_ADMIN_URL: 'a superuser URL (creates roles, the database, extensions)',
  MIGRATION_DATABASE_URL: 'the prospectflow_migrator URL of the target database, direct (not via pgBouncer)',
  DATABASE_URL: 'the runtime URL of the target database',
} as const;

class UsageError extends Error {}

function required(name: keyof typeof VARIABLES, env: NodeJS.ProcessEnv): string {
  const value = env[name];
  if (!value) throw new UsageError(`${name} is not set: it must be ${VARIABLES[name]}.`);
  // The production secret rule, for the password inside the URL (the variable is named, not the value).
  const problem = env.NODE_ENV === 'production' ? urlPasswordProblem(name, value) : undefined;
  if (problem) throw new UsageError(problem);
  return value;
}

/** One line per command: what it does and the variables it reads. */
const COMMANDS: Record<string, string> = {
  setup:
    'roles, database, extensions, grants (DATABASE_ADMIN_URL; database name from MIGRATION_DATABASE_URL)',
  migrate: 'apply pending migrations              (MIGRATION_DATABASE_URL)',
  undo: 'undo the last applied migration       (MIGRATION_DATABASE_URL)',
  status: 'applied and pending migrations        (MIGRATION_DATABASE_URL)',
  seed: 'idempotent demo data                  (MIGRATION_DATABASE_URL)',
  validate: 'PASS/FAIL per check, non-zero on FAIL (MIGRATION_DATABASE_URL; role passwords from env)',
  erd: 'write docs/database/erd.md            (MIGRATION_DATABASE_URL) [--out file]',
  schema: 'write schema.sql from a scratch database migrated from zero (DATABASE_ADMIN_URL) [--out file]',
};

const usage = `Usage: prospectflow-db <command> [--help]
${Object.entries(COMMANDS)
  .map(([name, line]) => `  ${name.padEnd(8)}  ${line}`)
  .join('\n')}
Variables:
${Object.entries(VARIABLES)
  .map(([name, line]) => `  ${name}  ${line}`)
  .join('\n')}`;

const HELP = ['--help', '-h', 'help'];

/** The options each command takes: any other argument is refused before a database is touched. */
const OPTIONS: Record<string, NonNullable<ParseArgsConfig['options']>> = {
  erd: { out: { type: 'string' } },
  schema: { out: { type: 'string' } },
};

function optionsOf(command: string, args: string[]): { out?: string } {
  try {
    // pnpm passes the `--` of `pnpm db:erd -- --out file` through: it separates nothing here.
    const { values } = parseArgs({
      args: args.filter((arg) => arg !== '--'),
      options: OPTIONS[command] ?? {},
      strict: true,
      allowPositionals: false,
    });
    return values as { out?: string };
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message}\nUsage: prospectflow-db ${command}\n  ${COMMANDS[command]}`,
    );
  }
}

/** Runs one command; returns the exit code. Output goes to `out` (stdout by default). */
export async function runCli(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  out = (line: string) => console.log(line),
): Promise<number> {
  const [command, ...rest] = argv;
  // --help anywhere answers with the usage and touches nothing (db:migrate --help must not migrate).
  if (command === undefined || argv.some((arg) => HELP.includes(arg))) {
    out(command && COMMANDS[command] ? `Usage: prospectflow-db ${command}\n  ${COMMANDS[command]}` : usage);
    return 0;
  }
  try {
    const options = COMMANDS[command] ? optionsOf(command, rest) : {};
    switch (command) {
      case 'setup': {
        const admin = required('DATABASE_ADMIN_URL', env);
        const target = env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL;
        if (!target)
          throw new UsageError(
            `MIGRATION_DATABASE_URL is not set: it must be ${VARIABLES.MIGRATION_DATABASE_URL}.`,
          );
        const result = await setupDatabase(admin, { database: databaseOf(target), env });
        out(
          `setup ${result.database}: database ${result.createdDatabase ? 'created' : 'already existed'}, roles created: ${
            result.createdRoles.join(', ') || 'none'
          }`,
        );
        return 0;
      }
      case 'migrate': {
        const applied = await migrate(required('MIGRATION_DATABASE_URL', env));
        out(applied.length ? applied.map((m) => `applied ${m.version} ${m.name}`).join('\n') : 'up to date');
        return 0;
      }
      case 'undo': {
        const undone = await undoLastMigration(required('MIGRATION_DATABASE_URL', env));
        out(undone.length ? undone.map((m) => `undid ${m.version} ${m.name}`).join('\n') : 'nothing to undo');
        return 0;
      }
      case 'status': {
        const status = await migrationStatus(required('MIGRATION_DATABASE_URL', env));
        for (const m of status.applied)
          out(`applied  ${m.version} ${m.name}${m.changed ? '  CHANGED SINCE APPLIED' : ''}`);
        for (const m of status.pending) out(`pending  ${m.version} ${m.name}`);
        for (const m of status.outOfOrder)
          out(`SKIPPED  ${m.version} ${m.name}  older than current, never applied: rename it`);
        out(`current ${status.currentVersion}, latest ${status.latestVersion}`);
        return status.applied.some((m) => m.changed) || status.outOfOrder.length > 0 ? 1 : 0;
      }
      case 'seed': {
        const result = await seedDemo(required('MIGRATION_DATABASE_URL', env));
        out(`demo organisation ${result.organisationId}: ${result.inserted} rows inserted`);
        return 0;
      }
      case 'validate': {
        const url = required('MIGRATION_DATABASE_URL', env);
        out(`validating ${redactUrl(url)}`);
        const results = await runValidation(url, { env });
        for (const r of results) {
          out(
            `${r.ok ? 'PASS' : 'FAIL'}  ${r.name}  (${Math.round(r.ms)} ms)${r.ok && r.detail ? `  ${r.detail}` : ''}`,
          );
          if (!r.ok) for (const line of (r.detail ?? '').split('\n')) out(`      ${line}`);
        }
        const failed = results.filter((r) => !r.ok).length;
        out(failed ? `${failed} of ${results.length} checks FAILED` : `all ${results.length} checks passed`);
        return failed ? 1 : 0;
      }
      case 'erd': {
        const url = required('MIGRATION_DATABASE_URL', env);
        const file = options.out
          ? path.resolve(options.out)
          : fileURLToPath(new URL('../../../docs/database/erd.md', import.meta.url));
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          const tables = await readCatalog(client);
          const { rows } = await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
          const status = await migrationStatus(url);
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, renderErdDocument(tables, rows[0]!.v.split(' ')[0]!, status.currentVersion));
        } finally {
          await client.end();
        }
        out(`wrote ${file}`);
        return 0;
      }
      case 'schema': {
        const file = options.out ? path.resolve(options.out) : undefined;
        out(`wrote ${await writeSchemaFile(required('DATABASE_ADMIN_URL', env), file)}`);
        return 0;
      }
      default:
        console.error(`prospectflow-db: unknown command "${command}"\n${usage}`);
        return 2;
    }
  } catch (error) {
    console.error(`db ${command}: ${(error as Error).message}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

const invokedDirectly =
  process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
