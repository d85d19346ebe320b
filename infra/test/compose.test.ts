import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dockerfileStages,
  INFRA_DIR,
  interpolate,
  parseEnvFile,
  REPO_ROOT,
  validateCompose,
  variablesUsed,
} from '../src/compose.js';

const composeText = fs.readFileSync(path.join(INFRA_DIR, 'compose.yaml'), 'utf8');
const envExample = parseEnvFile(fs.readFileSync(path.join(INFRA_DIR, '.env.example'), 'utf8'));

describe('infra/compose.yaml', () => {
  const result = validateCompose(composeText, envExample);
  const services = result.document.services as Record<string, any>;

  it('validates against the Compose specification schema with .env.example', () => {
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('the validator rejects what the specification forbids', () => {
    const broken = composeText.replace('  redis:\n', '  redis:\n    restart_policy: always\n');
    const outcome = validateCompose(broken, envExample);
    expect(outcome.valid).toBe(false);
    expect(outcome.errors.join('\n')).toContain('restart_policy');
    const badDepends = composeText.replace('condition: service_healthy', 'condition: healthy-ish');
    expect(validateCompose(badDepends, envExample).valid).toBe(false);
  });

  it('every required variable is documented in .env.example and refuses to start without it', () => {
    const required = variablesUsed(composeText).filter((v) => v.operator.endsWith('?'));
    expect(required.length).toBeGreaterThan(5);
    for (const variable of required) expect(Object.keys(envExample)).toContain(variable.name);
    const { POSTGRES_PASSWORD: _, ...withoutSuperuser } = envExample;
    expect(() => interpolate(composeText, withoutSuperuser)).toThrow(/POSTGRES_PASSWORD/);
  });

  it('every variable in .env.example is used by the compose file', () => {
    const used = new Set(variablesUsed(composeText).map((v) => v.name));
    for (const name of Object.keys(envExample)) expect([...used]).toContain(name);
  });

  it('runs postgres 18 with a health check, and creates roles with the db-schema setup before migrating', () => {
    expect(services.postgres.image).toMatch(/^postgres:18/);
    expect(services.postgres.healthcheck.test.join(' ')).toContain('pg_isready');
    expect(services['db-init'].command).toEqual(['node', 'dist/cli.js', 'setup']);
    expect(services['db-init'].depends_on.postgres.condition).toBe('service_healthy');
    expect(services.migrate.command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(services.migrate.depends_on['db-init'].condition).toBe('service_completed_successfully');
    expect(services.migrate.environment.MIGRATION_DATABASE_URL).toMatch(
      /^postgres:\/\/prospectflow_migrator:[^@]+@postgres:5432\//,
    );
  });

  it('pgbouncer pools in transaction mode with the seed defaults, configurable', () => {
    const env = services.pgbouncer.environment;
    expect(env.PGBOUNCER_POOL_MODE).toBe('transaction');
    // Its entrypoint then refuses unset, example and short passwords (tls.test.ts).
    expect(env.NODE_ENV).toBe('production');
    expect(env.PGBOUNCER_MAX_CLIENT_CONN).toBe('100');
    expect(env.PGBOUNCER_DEFAULT_POOL_SIZE).toBe('25');
    const tuned = validateCompose(composeText, { ...envExample, PGBOUNCER_DEFAULT_POOL_SIZE: '40' });
    expect(tuned.document.services.pgbouncer.environment.PGBOUNCER_DEFAULT_POOL_SIZE).toBe('40');
  });

  it('apps reach the database through pgbouncer as their runtime roles, after migrate and healthy services', () => {
    expect(services['ingest-api'].environment.DATABASE_URL).toMatch(
      /^postgres:\/\/prospectflow_app:[^@]+@pgbouncer:6432\//,
    );
    expect(services.worker.environment.WORKER_DATABASE_URL).toMatch(
      /^postgres:\/\/prospectflow_worker:[^@]+@pgbouncer:6432\//,
    );
    for (const app of ['ingest-api', 'worker']) {
      const depends = services[app].depends_on;
      expect(depends.migrate.condition).toBe('service_completed_successfully');
      expect(depends.redis.condition).toBe('service_healthy');
    }
    expect(services.redis.image).toMatch(/^redis:7/);
  });

  it('gives the API and the worker the keys they refuse to start without in production', () => {
    for (const app of ['ingest-api', 'worker']) {
      expect(services[app].environment.NODE_ENV).toBe('production');
      expect(services[app].environment.PRIVACY_HMAC_KEYS, app).toBe(envExample.PRIVACY_HMAC_KEYS);
    }
    const { PRIVACY_HMAC_KEYS: _, ...withoutKeys } = envExample;
    expect(() => interpolate(composeText, withoutKeys)).toThrow(/PRIVACY_HMAC_KEYS/);
  });

  it('gives the API and the worker the same key provider for mailbox credentials', () => {
    // Without SECRETS_* the stack could not connect a mailbox: every POST/PATCH with credentials
    // answered 503 secrets_not_configured.
    for (const app of ['ingest-api', 'worker']) {
      for (const name of [
        'SECRETS_PROVIDER',
        'SECRETS_LOCAL_KEYS',
        'SECRETS_ACTIVE_KEY',
        'SECRETS_KMS_KEY_ID',
      ])
        expect(services[app].environment[name] ?? '', `${app} ${name}`).toBe(envExample[name]);
    }
    expect(envExample.SECRETS_PROVIDER).toBe('local');
    expect(envExample.SECRETS_LOCAL_KEYS).toMatch(/^k1:/);
  });

  it('every service_healthy dependency has a health check, and one-shot jobs do not restart', () => {
    for (const service of Object.values(services)) {
      for (const [target, spec] of Object.entries((service.depends_on ?? {}) as Record<string, any>)) {
        expect(Object.keys(services)).toContain(target);
        if (spec.condition === 'service_healthy') expect(services[target].healthcheck).toBeDefined();
        if (spec.condition === 'service_completed_successfully') expect(services[target].restart).toBe('no');
      }
    }
  });

  it('backs up off-host on a schedule: backup role direct to PostgreSQL, a bucket required, metrics on localhost', () => {
    const backups = services.backups;
    expect(backups.command).toEqual(['node', 'dist/cli.js', 'serve']);
    expect(backups.environment.BACKUP_DATABASE_URL).toMatch(
      /^postgres:\/\/prospectflow_backup:[^@]+@postgres:5432\//,
    );
    expect(backups.environment).toMatchObject({
      BACKUP_SCHEDULE: '0 2 * * *',
      RESTORE_CHECK_SCHEDULE: '30 3 * * *',
      BACKUP_STORAGE_DRIVER: 's3',
    });
    const { BACKUP_STORAGE_S3_BUCKET: _, ...noBucket } = envExample;
    expect(() => interpolate(composeText, noBucket)).toThrow(/BACKUP_STORAGE_S3_BUCKET/);
    expect(backups.ports).toEqual(['127.0.0.1:9465:9465']);
  });

  it('database, pgBouncer and pgAdmin listen on 127.0.0.1 by default; pgAdmin requires a login', () => {
    const { BIND_ADDRESS: _, ...noBind } = envExample;
    const defaults = validateCompose(composeText, noBind).document.services as Record<string, any>;
    expect(defaults.postgres.ports).toEqual(['127.0.0.1:5432:5432']);
    expect(defaults.pgbouncer.ports).toEqual(['127.0.0.1:6432:6432']);
    expect(defaults.pgadmin.ports).toEqual(['127.0.0.1:5050:80']);
    expect(services.pgadmin.environment).toMatchObject({
      PGADMIN_CONFIG_SERVER_MODE: 'True',
      PGADMIN_CONFIG_MASTER_PASSWORD_REQUIRED: 'True',
    });
  });

  it('pgAdmin only starts under the optional tools profile', () => {
    expect(services.pgadmin.profiles).toEqual(['tools']);
    const always = Object.entries(services)
      .filter(([, s]) => !s.profiles)
      .map(([name]) => name);
    expect(always.sort()).toEqual([
      'backups',
      'db-init',
      'ingest-api',
      'migrate',
      'pgbouncer',
      'postgres',
      'redis',
      'worker',
    ]);
  });

  it('builds name existing Dockerfiles and stages, from the repository root', () => {
    for (const service of Object.values(services)) {
      if (!service.build) continue;
      expect(path.resolve(INFRA_DIR, service.build.context)).toBe(REPO_ROOT);
      const dockerfile = path.join(REPO_ROOT, service.build.dockerfile);
      expect(fs.existsSync(dockerfile)).toBe(true);
      expect(dockerfileStages(fs.readFileSync(dockerfile, 'utf8'))).toContain(service.build.target);
    }
  });

  it('builds inside the images with turbo itself, never under pnpm', () => {
    // Under pnpm, every task's `pnpm run` checks the workspace state and, the sources being newer
    // than the install in an image, rewrites the state file while the parallel tasks read it:
    // builds failed at random with "Unexpected end of JSON input" (pnpm 10.34).
    const apps = fs.readdirSync(path.join(REPO_ROOT, 'apps'));
    const dockerfiles = apps
      .map((app) => path.join(REPO_ROOT, 'apps', app, 'Dockerfile'))
      .filter((file) => fs.existsSync(file));
    expect(dockerfiles.length).toBeGreaterThanOrEqual(4);
    for (const file of dockerfiles) {
      const text = fs.readFileSync(file, 'utf8');
      expect(text, file).toMatch(/^RUN .*\bturbo run build\b/m);
      expect(text, file).not.toMatch(/^RUN .*\bpnpm (exec )?turbo\b/m);
    }
  });

  it('mounts the pgbouncer entrypoint that exists in the repository', () => {
    const mount = services.pgbouncer.volumes[0] as string;
    expect(fs.existsSync(path.resolve(INFRA_DIR, mount.split(':')[0]!))).toBe(true);
  });
});
