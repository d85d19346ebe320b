import { migrate, roleUrl, seedDemo, setupDatabase, withDatabase } from '@prospectflow/db-schema';
import type { RunningPostgres } from '@prospectflow/testing/postgres';
import { say } from './logs.js';
import { startDevPostgres } from './postgres.js';

export interface DevDatabase {
  /** Runtime URLs: API as prospectflow_app, worker as prospectflow_worker. */
  appUrl: string;
  workerUrl: string;
  embedded?: RunningPostgres;
}

const DATABASE = 'prospectflow';

/** Creates roles and the database, applies migrations and seeds the demo organisation (all idempotent). */
async function prepare(
  adminUrl: string,
  env: NodeJS.ProcessEnv,
): Promise<{ appUrl: string; workerUrl: string }> {
  await setupDatabase(adminUrl, { database: DATABASE, env });
  const databaseUrl = withDatabase(adminUrl, DATABASE);
  const applied = await migrate(roleUrl(databaseUrl, 'migrator', env));
  say(`migrations applied (${applied.length} new)`);
  await seedDemo(roleUrl(databaseUrl, 'migrator', env));
  say('demo data seeded');
  return { appUrl: roleUrl(databaseUrl, 'app', env), workerUrl: roleUrl(databaseUrl, 'worker', env) };
}

/**
 * DATABASE_ADMIN_URL: set up that server. DATABASE_URL: use it as it is (already migrated).
 * Neither: an embedded PostgreSQL 18 with its data in .data/postgres.
 */
export async function startDevDatabase(options: {
  env: NodeJS.ProcessEnv;
  dataDir: string;
  reset: boolean;
}): Promise<DevDatabase> {
  const { env } = options;
  if (env.DATABASE_ADMIN_URL) {
    say('using DATABASE_ADMIN_URL');
    return await prepare(env.DATABASE_ADMIN_URL, env);
  }
  if (env.DATABASE_URL) {
    say('using DATABASE_URL as it is (run `pnpm db:setup && pnpm db:migrate` against it first)');
    return {
      appUrl: env.DATABASE_URL,
      workerUrl: env.WORKER_DATABASE_URL ?? roleUrl(env.DATABASE_URL, 'worker', env),
    };
  }
  const port = Number(env.DEV_POSTGRES_PORT ?? 54329);
  say(`starting embedded PostgreSQL 18 on 127.0.0.1:${port} (data in ${options.dataDir}/postgres)`);
  const embedded = await startDevPostgres({
    dataDir: options.dataDir,
    port,
    reset: options.reset,
    log: (line) => say(line),
  });
  try {
    return { ...(await prepare(embedded.adminUrl, env)), embedded };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}
