import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  type Env,
  EnvObject,
  Integer,
  LogLevel,
  loadEnv,
  Optional,
  PostgresUrl,
  type Rule,
  type Static,
  Text,
} from '@prospectflow/config';
import { type StorageConfig, storageConfigFromEnv, storageProblems } from '@prospectflow/object-storage';

/**
 * The agent's variables (`--help` prints them). The bucket is read by @prospectflow/object-storage
 * with the prefix BACKUP_STORAGE_ (DRIVER, S3_BUCKET, S3_ENDPOINT, S3_REGION, S3_SSE, …).
 */
export const BackupEnv = EnvObject({
  NODE_ENV: Optional(Text()),
  LOG_LEVEL: LogLevel({ default: 'info' }),
  BACKUP_DATABASE_URL: Optional(
    PostgresUrl({
      description: 'backup: prospectflow_backup URL, direct to PostgreSQL (given to backup.sh)',
    }),
  ),
  BACKUP_OBJECT_PREFIX: Text({
    default: 'backups',
    description: 'key prefix of archives and status objects',
  }),
  BACKUP_BUCKET_RETENTION_DAYS: Integer({
    default: 30,
    minimum: 1,
    maximum: 36_500,
    description: 'archives taken longer ago are deleted from the bucket',
  }),
  BACKUP_BUCKET_KEEP_MIN: Integer({
    default: 7,
    minimum: 1,
    maximum: 10_000,
    description: 'the newest N complete archives are kept whatever their age',
  }),
  RESTORE_CHECK_ADMIN_URL: Optional(
    PostgresUrl({ description: 'restore-check: superuser URL of the cluster of the scratch database' }),
  ),
  RESTORE_CHECK_DATABASE: Text({
    default: 'prospectflow_restore_check',
    description: 'scratch database, dropped before and after each check: must end in _restore_check',
  }),
  BACKUP_SCHEDULE: Optional(Text({ description: 'serve: cron expression (UTC) or ISO 8601 date-time' })),
  RESTORE_CHECK_SCHEDULE: Optional(
    Text({ description: 'serve: cron expression (UTC) or ISO 8601 date-time' }),
  ),
  BACKUP_METRICS_HOST: Text({ default: '127.0.0.1', description: 'serve: address of /metrics and /health' }),
  BACKUP_METRICS_PORT: Integer({ default: 9465, minimum: 0, maximum: 65_535 }),
  BACKUP_SCRIPTS_DIR: Optional(Text({ description: 'backup.sh and restore.sh (default: infra/scripts)' })),
  BACKUP_WORK_DIR: Optional(Text({ description: 'staging folder, emptied after each run (default: temp)' })),
});
type BackupEnvValues = Static<typeof BackupEnv>;

export interface BucketSettings {
  storage: StorageConfig;
  /** Key prefix without a trailing slash: archives live under `${prefix}/archives/`. */
  prefix: string;
  retentionDays: number;
  keepMin: number;
}

export interface AgentConfig extends BucketSettings {
  scriptsDir: string;
  workDir: string;
  logLevel: string;
  backupDatabaseUrl?: string;
  restoreAdminUrl?: string;
  restoreDatabase: string;
  backupSchedule?: string;
  restoreSchedule?: string;
  metricsHost: string;
  metricsPort: number;
}

export { ConfigError };

const PREFIX = /^[A-Za-z0-9._=-]+(\/[A-Za-z0-9._=-]+)*$/;
/** The scratch database is dropped before and after each check: a name that cannot be production's. */
const SCRATCH = /^[a-z_][a-z0-9_]*_restore_check$/;
const trimmed = (prefix: string) => prefix.replace(/\/+$/, '');

const rules: Rule<BackupEnvValues>[] = [
  (v) =>
    PREFIX.test(trimmed(v.BACKUP_OBJECT_PREFIX))
      ? undefined
      : `BACKUP_OBJECT_PREFIX must be segments of [A-Za-z0-9._=-] separated by / (got "${v.BACKUP_OBJECT_PREFIX}")`,
  (v) =>
    SCRATCH.test(v.RESTORE_CHECK_DATABASE)
      ? undefined
      : `RESTORE_CHECK_DATABASE must be a lower-case name ending in _restore_check (got "${v.RESTORE_CHECK_DATABASE}")`,
  (_v, env) => storageProblems(env, 'BACKUP_STORAGE_'),
];

/**
 * Reads the agent's settings, reporting every problem at once. What each command needs on top
 * (the database URL for a backup, the admin URL for a restore check) is checked by `requireSettings`.
 */
export function loadConfig(env: Env = process.env): AgentConfig {
  const v = loadEnv(BackupEnv, env, rules, 'backup settings');
  return {
    storage: storageConfigFromEnv(env, 'BACKUP_STORAGE_'),
    prefix: trimmed(v.BACKUP_OBJECT_PREFIX),
    retentionDays: v.BACKUP_BUCKET_RETENTION_DAYS,
    keepMin: v.BACKUP_BUCKET_KEEP_MIN,
    scriptsDir: v.BACKUP_SCRIPTS_DIR ?? fileURLToPath(new URL('../../../infra/scripts/', import.meta.url)),
    workDir: v.BACKUP_WORK_DIR ?? tmpdir(),
    logLevel: v.LOG_LEVEL,
    backupDatabaseUrl: v.BACKUP_DATABASE_URL,
    restoreAdminUrl: v.RESTORE_CHECK_ADMIN_URL,
    restoreDatabase: v.RESTORE_CHECK_DATABASE,
    backupSchedule: v.BACKUP_SCHEDULE,
    restoreSchedule: v.RESTORE_CHECK_SCHEDULE,
    metricsHost: v.BACKUP_METRICS_HOST,
    metricsPort: v.BACKUP_METRICS_PORT,
  };
}

/** The settings a command needs beyond the common ones: missing ones are reported together. */
export function requireSettings(config: AgentConfig, needs: { backup?: boolean; restore?: boolean }): void {
  const problems: string[] = [];
  if (needs.backup && !config.backupDatabaseUrl) {
    problems.push(
      'BACKUP_DATABASE_URL is required (postgres://prospectflow_backup:…@host:5432/prospectflow)',
    );
  }
  if (needs.restore && !config.restoreAdminUrl) {
    problems.push('RESTORE_CHECK_ADMIN_URL is required (a superuser URL of the scratch cluster)');
  }
  if (problems.length > 0) throw new ConfigError(problems, 'backup settings');
}
