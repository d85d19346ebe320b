import { testEnvironment } from '@prospectflow/testing';
import { describe, expect, it } from 'vitest';
import { ROLES, rolePassword, roleUrl } from '../src/roles.js';
import { setupDatabase } from '../src/setup.js';
import { query, scratchDatabase } from './support/scratch.js';

describe('roles', () => {
  it('roleUrl swaps the credentials and keeps host, port and database', () => {
    const url = roleUrl('postgres://postgres:secret@db.example:6543/prospectflow?sslmode=require', 'app', {});
    const parsed = new URL(url);
    expect(parsed.username).toBe('prospectflow_app');
    expect(parsed.password).toBe('prospectflow_app');
    expect(parsed.host).toBe('db.example:6543');
    expect(parsed.pathname).toBe('/prospectflow');
    expect(parsed.searchParams.get('sslmode')).toBe('require');
  });

  it('takes passwords from env and refuses the dev defaults in production', () => {
    expect(rolePassword(ROLES.worker, { PROSPECTFLOW_WORKER_PASSWORD: 'p@ss/word' })).toBe('p@ss/word');
    expect(
      decodeURIComponent(
        new URL(roleUrl('postgres://h/db', 'worker', { PROSPECTFLOW_WORKER_PASSWORD: 'p@ss/word' })).password,
      ),
    ).toBe('p@ss/word');
    expect(() => rolePassword(ROLES.app, { NODE_ENV: 'production' })).toThrow(/PROSPECTFLOW_APP_PASSWORD/);
    expect(() =>
      rolePassword(ROLES.app, { NODE_ENV: 'production', PROSPECTFLOW_APP_PASSWORD: 'prospectflow_app' }),
    ).toThrow(/PROSPECTFLOW_APP_PASSWORD/);
    const real = 'Xq7vN2pLk9RfT4wZ8mYc3HbJ'; // 24 characters
    expect(rolePassword(ROLES.app, { NODE_ENV: 'production', PROSPECTFLOW_APP_PASSWORD: real })).toBe(real);
    expect(() => roleUrl('postgres://h/db', ROLES.system)).toThrow(/not a login role/);
  });

  it("refuses in production what the production secret rule refuses (.env.example's, short), naming only the variable", () => {
    for (const [value, why] of [
      ['change-me-app', /PROSPECTFLOW_APP_PASSWORD is a published example value/],
      ['a-real-but-short-pw', /PROSPECTFLOW_APP_PASSWORD is too short for production \(24 characters/],
    ] as const) {
      const env = { NODE_ENV: 'production', PROSPECTFLOW_APP_PASSWORD: value };
      expect(() => rolePassword(ROLES.app, env)).toThrow(why);
      expect(() => rolePassword(ROLES.app, env)).not.toThrow(value);
      // Outside production the same values are fine (dev, tests).
      expect(rolePassword(ROLES.app, { PROSPECTFLOW_APP_PASSWORD: value })).toBe(value);
    }
  });

  it('setupDatabase refuses default passwords in production before changing anything', async () => {
    const environment = testEnvironment();
    const name = `${environment.runPrefix}_prod_refused`;
    await expect(
      setupDatabase(environment.adminUrl, { database: name, env: { NODE_ENV: 'production' } }),
    ).rejects.toThrow(/PROSPECTFLOW_MIGRATOR_PASSWORD/);
    expect(
      await query(environment.adminUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [name]),
    ).toHaveLength(0);
  });

  it("setupDatabase reports every refused password at once in production, the admin URL's too", async () => {
    const environment = testEnvironment();
    const name = `${environment.runPrefix}_prod_short`;
    const admin = new URL(environment.adminUrl);
    admin.password = 'change-me-superuser';
    const error = await setupDatabase(admin.toString(), {
      database: name,
      env: {
        NODE_ENV: 'production',
        PROSPECTFLOW_MIGRATOR_PASSWORD: 'change-me-migrator',
        PROSPECTFLOW_APP_PASSWORD: 'short-app-password',
        PROSPECTFLOW_WORKER_PASSWORD: 'Xq7vN2pLk9RfT4wZ8mYc3HbJ',
        PROSPECTFLOW_BACKUP_PASSWORD: 'Kd8sW2nQ5vB9xL3mT7yR4cF6',
      },
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('DATABASE_ADMIN_URL (its password) is a published example value');
    expect(message).toContain('PROSPECTFLOW_MIGRATOR_PASSWORD is a published example value');
    expect(message).toContain('PROSPECTFLOW_APP_PASSWORD is too short for production');
    expect(message).not.toMatch(/WORKER|BACKUP|change-me|short-app-password/);
    expect(
      await query(environment.adminUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [name]),
    ).toHaveLength(0);
  });
});

describe('setupDatabase', () => {
  it('creates the roles with the contract attributes', async () => {
    const { adminUrl } = await scratchDatabase('roles');
    const rows = await query<{
      rolname: string;
      rolcanlogin: boolean;
      rolsuper: boolean;
      rolbypassrls: boolean;
      rolcreatedb: boolean;
      rolcreaterole: boolean;
    }>(
      adminUrl,
      `SELECT rolname, rolcanlogin, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole
         FROM pg_roles WHERE rolname LIKE 'prospectflow\\_%' ORDER BY rolname`,
    );
    const byName = Object.fromEntries(rows.map((r) => [r.rolname, r]));
    for (const role of Object.values(ROLES)) {
      expect(byName[role], role).toBeDefined();
      expect(byName[role]!.rolsuper).toBe(false);
      expect(byName[role]!.rolcreatedb).toBe(false);
      expect(byName[role]!.rolcreaterole).toBe(false);
    }
    expect(byName[ROLES.app]!.rolbypassrls).toBe(false);
    expect(byName[ROLES.worker]!.rolbypassrls).toBe(false);
    expect(byName[ROLES.migrator]!.rolbypassrls).toBe(false);
    expect(byName[ROLES.system]!.rolbypassrls).toBe(true);
    expect(byName[ROLES.backup]!.rolbypassrls).toBe(true);
    expect(byName[ROLES.system]!.rolcanlogin).toBe(false);
    for (const role of [ROLES.migrator, ROLES.app, ROLES.worker, ROLES.backup])
      expect(byName[role]!.rolcanlogin).toBe(true);
  });

  it('is idempotent: a second run changes nothing and creates nothing', async () => {
    const { name, adminUrl } = await scratchDatabase('again');
    const environment = testEnvironment();
    const second = await setupDatabase(environment.adminUrl, { database: name });
    expect(second).toEqual({ database: name, createdRoles: [], createdDatabase: false });
    const [db] = await query<{ owner: string }>(
      adminUrl,
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()',
    );
    expect(db!.owner).toBe(ROLES.migrator);
    const extensions = await query<{ extname: string }>(
      adminUrl,
      `SELECT extname FROM pg_extension WHERE extname IN ('pgcrypto', 'citext') ORDER BY extname`,
    );
    expect(extensions.map((e) => e.extname)).toEqual(['citext', 'pgcrypto']);
  });

  it('every login role can connect with its default password; runtime roles cannot create in public', async () => {
    const { adminUrl } = await scratchDatabase('login');
    for (const role of [ROLES.migrator, ROLES.app, ROLES.worker, ROLES.backup]) {
      const [row] = await query<{ who: string }>(roleUrl(adminUrl, role), 'SELECT current_user AS who');
      expect(row!.who).toBe(role);
    }
    await expect(
      query(roleUrl(adminUrl, ROLES.app), 'CREATE TABLE public.sneaky (id int)'),
    ).rejects.toMatchObject({
      code: '42501',
    });
  });
});
