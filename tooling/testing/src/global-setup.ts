import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startTestMail } from './mail/index.js';
import { startTestPostgres } from './postgres.js';
import { startTestRedis } from './redis.js';
import { startTestS3 } from './s3.js';
import type { TestEnvironment } from './types.js';
import { withDatabase } from './urls.js';

export interface GlobalSetupOptions {
  /**
   * Prepares the template database every test database is cloned from (roles, migrations…).
   * Receives the superuser URL of the cluster and the URL of the empty template database.
   */
  prepareTemplate?: (adminUrl: string, templateUrl: string) => Promise<void>;
  /** Start Redis too (REDIS_URL or a redis-server on a free port). Default true. */
  redis?: boolean;
  /** Start an S3 wire-protocol server too (TEST_S3_URL or s3rver on a free port). Default false. */
  s3?: boolean;
  /** Start the mail system too: Dovecot (IMAP, LMTP), a submission SMTP server, an OAuth token server. */
  mail?: boolean;
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Drops every database this run created (they share the run's prefix). */
async function dropRunDatabases(adminUrl: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 || '%' ORDER BY datname DESC`,
      [prefix],
    );
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Builds a vitest `globalSetup` function: one real PostgreSQL and Redis for the whole run, a
 * migrated template database, and everything removed afterwards.
 */
export function createGlobalSetup(options: GlobalSetupOptions = {}) {
  return async function setup(project: TestProject) {
    const postgres = await startTestPostgres();
    const redis = options.redis === false ? undefined : await startTestRedis();
    const s3 = options.s3 ? await startTestS3() : undefined;
    const mail = options.mail ? await startTestMail() : undefined;
    const runPrefix = `pf_t_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const templateDatabase = `${runPrefix}_template`;
    try {
      await adminQuery(postgres.adminUrl, `CREATE DATABASE "${templateDatabase}"`);
      await options.prepareTemplate?.(postgres.adminUrl, withDatabase(postgres.adminUrl, templateDatabase));
    } catch (error) {
      await dropRunDatabases(postgres.adminUrl, runPrefix).catch(() => {});
      await mail?.stop();
      await redis?.stop();
      await s3?.stop();
      await postgres.stop();
      throw error;
    }
    const environment: TestEnvironment = {
      adminUrl: postgres.adminUrl,
      serverVersion: postgres.serverVersion,
      embedded: postgres.embedded,
      runPrefix,
      templateDatabase,
      redisUrl: redis?.url ?? '',
      s3: s3
        ? {
            endpoint: s3.endpoint,
            region: s3.region,
            accessKeyId: s3.accessKeyId,
            secretAccessKey: s3.secretAccessKey,
            bucket: s3.bucket,
          }
        : null,
      ...(mail
        ? {
            mail: {
              dir: mail.dir,
              host: mail.host,
              imapPort: mail.imapPort,
              smtpPort: mail.smtpPort,
              oauthTokenUrl: mail.oauthTokenUrl,
              oauthAuthorizeUrl: mail.oauthAuthorizeUrl,
            },
          }
        : {}),
    };
    project.provide('prospectflowTest', environment);
    return async () => {
      await dropRunDatabases(postgres.adminUrl, runPrefix).catch(() => {});
      await mail?.stop();
      await redis?.stop();
      await s3?.stop();
      await postgres.stop();
    };
  };
}
