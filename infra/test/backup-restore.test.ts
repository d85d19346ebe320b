import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFingerprints, withClient, withDatabase, withUser } from '../src/pg.js';
import {
  backupClusterUrl,
  createMigratedDatabase,
  dropDatabases,
  runPnpmScript,
  runScript,
  seedTwoOrganisations,
  tempDir,
  uniqueName,
} from './support/env.js';

const ORG_A = '10000000-0000-4000-8000-00000000000a';
const ORG_B = '10000000-0000-4000-8000-00000000000b';

let cluster: string;
let prefix: string;
let source: string;
let sourceUrl: string;
let backupUrl: string;
let dir: string;
let env: Record<string, string>;
let fullArchive: string;
/** Kept by the BACKUP_ENCRYPT=gpg test for restore.sh: the encrypted archive and its keyring. */
let gpgArchive: string | undefined;
let gnupgHome: string | undefined;

beforeAll(async () => {
  cluster = await backupClusterUrl();
  prefix = uniqueName('bk');
  source = `${prefix}_src`;
  sourceUrl = await createMigratedDatabase(cluster, source);
  await seedTwoOrganisations(sourceUrl);
  backupUrl = withUser(
    sourceUrl,
    'prospectflow_backup',
    process.env.PROSPECTFLOW_BACKUP_PASSWORD ?? 'prospectflow_backup',
  );
  dir = tempDir('backups');
  env = {
    BACKUP_DATABASE_URL: backupUrl,
    BACKUP_DIR: dir,
    DATABASE_ADMIN_URL: cluster,
    // db:validate of @prospectflow/db-schema against the restored database.
    ...(process.env.RESTORE_VALIDATE_CMD ? { RESTORE_VALIDATE_CMD: process.env.RESTORE_VALIDATE_CMD } : {}),
  };
});

afterAll(async () => {
  if (cluster && prefix) await dropDatabases(cluster, prefix);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  if (gpgArchive) fs.rmSync(path.dirname(gpgArchive), { recursive: true, force: true });
  if (gnupgHome) fs.rmSync(gnupgHome, { recursive: true, force: true });
});

function listing(archive: string): string {
  return fs.readFileSync(archive.replace(/\.dump\.gz$/, '.toc'), 'utf8');
}

function safetyArchives(database: string): string[] {
  const safetyDir = path.join(dir, 'safety');
  if (!fs.existsSync(safetyDir)) return [];
  return fs.readdirSync(safetyDir).filter((f) => f.startsWith(`${database}_full_`) && f.endsWith('.dump.gz'));
}

async function countAs(url: string, organisation: string, table: string): Promise<number> {
  return withClient(url, async (client) => {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.organisation_id', $1, true)`, [organisation]);
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    await client.query('COMMIT');
    return Number(rows[0]!.n);
  });
}

/**
 * Shims in front of every program the scripts run with a URL (node, pg_dump, pg_restore, psql):
 * each records its arguments in `argsLog`, then runs the real program. Put `shims` first in PATH
 * and use it as PG_BIN_DIR.
 */
function argumentShims(): { shims: string; argsLog: string } {
  const shims = tempDir('shims');
  const argsLog = path.join(shims, 'args.log');
  const which = (tool: string) =>
    process.env.PG_BIN_DIR
      ? path.join(process.env.PG_BIN_DIR, tool)
      : execFileSync('bash', ['-c', `command -v ${tool}`])
          .toString()
          .trim();
  const real: Record<string, string> = {
    node: process.execPath,
    pg_dump: which('pg_dump'),
    pg_restore: which('pg_restore'),
    psql: which('psql'),
  };
  for (const [tool, target] of Object.entries(real)) {
    const shim = path.join(shims, tool);
    fs.writeFileSync(shim, `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >> '${argsLog}'\nexec '${target}' "$@"\n`);
    fs.chmodSync(shim, 0o755);
  }
  return { shims, argsLog };
}

describe('backup.sh', () => {
  it('full: a gzip custom-format archive with a checksum file and a listing of every table', async () => {
    const result = await runScript('backup.sh', ['full'], env);
    expect(result.stderr).not.toMatch(/level=error/);
    expect(result.code).toBe(0);
    fullArchive = result.stdout.trim();
    expect(fullArchive).toMatch(new RegExp(`${source}_full_\\d{8}T\\d{6}Z\\.dump\\.gz$`));
    expect(fs.readFileSync(fullArchive).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const checksum = fs.readFileSync(`${fullArchive}.sha256`, 'utf8');
    expect(checksum).toMatch(new RegExp(`^[0-9a-f]{64}  ${path.basename(fullArchive)}\\n$`));
    const tables = Object.keys(await tableFingerprints(sourceUrl));
    const toc = listing(fullArchive);
    for (const table of tables) {
      const [schema, name] = table.split('.');
      expect(toc).toMatch(new RegExp(` TABLE DATA ${schema} ${name} `));
    }
    expect(result.stderr).toMatch(
      new RegExp(`event=progress step=dump done=${tables.length} total=${tables.length}`),
    );
  });

  it('writes owner-only files (umask) and never puts the password on a command line', async () => {
    const { shims, argsLog } = argumentShims();
    const ownDir = tempDir('backups-umask');
    const result = await runScript('backup.sh', ['full'], {
      ...env,
      BACKUP_DIR: ownDir,
      PATH: `${shims}:${process.env.PATH}`,
      PG_BIN_DIR: shims,
    });
    expect(result.stderr).not.toMatch(/level=error/);
    expect(result.code).toBe(0);
    const archive = result.stdout.trim();
    for (const file of [archive, `${archive}.sha256`, archive.replace(/\.dump\.gz$/, '.toc')])
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
    const args = fs.readFileSync(argsLog, 'utf8');
    expect(args).toContain('pg_dump ');
    const password = decodeURIComponent(new URL(backupUrl).password);
    expect(password.length).toBeGreaterThan(0);
    expect(args).not.toContain(`:${password}@`);
    expect(args).not.toContain(`:${encodeURIComponent(password)}@`);
    fs.rmSync(shims, { recursive: true, force: true });
    fs.rmSync(ownDir, { recursive: true, force: true });
  });

  it('BACKUP_ENCRYPT=gpg: only the encrypted archive is kept (0600), and it decrypts to the verified dump', async () => {
    const home = tempDir('gnupg');
    gnupgHome = home;
    fs.chmodSync(home, 0o700);
    const gpg = (args: string[], input?: Buffer) =>
      execFileSync('gpg', ['--batch', '--quiet', '--homedir', home, ...args], {
        ...(input ? { input } : {}),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    gpg([
      '--passphrase',
      '',
      '--quick-gen-key',
      'Backups <backups@prospectflow.test>',
      'future-default',
      'default',
      'never',
    ]);
    const ownDir = tempDir('backups-gpg');
    const encrypted = { ...env, BACKUP_DIR: ownDir, GNUPGHOME: home, BACKUP_ENCRYPT: 'gpg' };
    const refused = await runScript('backup.sh', ['full'], encrypted);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('BACKUP_GPG_RECIPIENT');
    const result = await runScript('backup.sh', ['full'], {
      ...encrypted,
      BACKUP_GPG_RECIPIENT: 'backups@prospectflow.test',
    });
    expect(result.stderr).not.toMatch(/level=error/);
    expect(result.code).toBe(0);
    const archive = result.stdout.trim();
    expect(archive).toMatch(/\.dump\.gz\.gpg$/);
    expect(fs.readdirSync(ownDir).filter((f) => f.endsWith('.dump.gz') || f.includes('partial'))).toEqual([]);
    expect((fs.statSync(archive).mode & 0o777).toString(8)).toBe('600');
    const bytes = fs.readFileSync(archive);
    expect(bytes.subarray(0, 2)).not.toEqual(Buffer.from([0x1f, 0x8b]));
    const checksum = fs.readFileSync(`${archive}.sha256`, 'utf8');
    expect(checksum).toContain(path.basename(archive));
    const plain = gpg(['--decrypt'], bytes);
    expect(plain.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    gpgArchive = archive; // restore.sh reads it below; afterAll removes the directories
  });

  it('schema: structure only, no table data', async () => {
    const result = await runScript('backup.sh', ['schema'], env);
    expect(result.code).toBe(0);
    const toc = listing(result.stdout.trim());
    expect(toc).not.toContain(' TABLE DATA ');
    expect(toc).toMatch(/ POLICY crm companies /);
    expect(toc).toMatch(/ TABLE crm companies /);
  });

  it('data: one data-only archive per schema, each holding only its own schema', async () => {
    const result = await runScript('backup.sh', ['data'], env);
    expect(result.code).toBe(0);
    const archives = result.stdout.trim().split('\n');
    const schemas = archives.map((a) => /_data-([a-z_]+)_/.exec(a)![1]).sort();
    expect(schemas).toEqual(expect.arrayContaining(['crm', 'iam', 'outreach', 'tracking']));
    for (const archive of archives) {
      const schema = /_data-([a-z_]+)_/.exec(archive)![1];
      const toc = listing(archive);
      expect(toc).not.toMatch(/ TABLE (?!DATA)/);
      const dataSchemas = new Set([...toc.matchAll(/ TABLE DATA (\S+) /g)].map((m) => m[1]));
      expect([...dataSchemas]).toEqual([schema]);
    }
  });

  it('`pnpm backup` and `pnpm restore` take relative paths from the folder they are run in, not infra/', async () => {
    const caller = tempDir('caller');
    try {
      const backup = await runPnpmScript(
        'backup',
        ['full', '--dir', 'mine'],
        { ...env, BACKUP_DIR: '' },
        caller,
      );
      expect(backup.stderr).not.toMatch(/level=error/);
      expect(backup.code).toBe(0);
      const archive = backup.stdout.trim();
      expect(path.dirname(archive)).toBe(path.join(fs.realpathSync(caller), 'mine'));
      const target = `${prefix}_relative`;
      const restore = await runPnpmScript(
        'restore',
        [path.join('mine', path.basename(archive)), '--target-db', target, '--yes', '--no-validate'],
        env,
        caller,
      );
      expect(restore.stderr).not.toMatch(/level=error/);
      expect(restore.code).toBe(0);
    } finally {
      fs.rmSync(caller, { recursive: true, force: true });
    }
  });

  it('refuses to run as any role but prospectflow_backup', async () => {
    const asApp = withUser(
      sourceUrl,
      'prospectflow_app',
      process.env.PROSPECTFLOW_APP_PASSWORD ?? 'prospectflow_app',
    );
    const result = await runScript('backup.sh', ['full'], { ...env, BACKUP_DATABASE_URL: asApp });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('role=prospectflow_app');
  });

  it('stops before dumping when the disk lacks room, leaving no archive', async () => {
    const before = fs.readdirSync(dir).length;
    const result = await runScript('backup.sh', ['full'], { ...env, BACKUP_MIN_FREE_MB: String(1024 ** 3) });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('not enough free disk space');
    expect(fs.readdirSync(dir).length).toBe(before);
  });

  it('removes archives older than the retention period with their checksum and listing', async () => {
    const retentionDir = tempDir('retention');
    try {
      const old = path.join(retentionDir, 'x_full_20200101T000000Z.dump.gz');
      const recent = path.join(retentionDir, 'x_full_20200201T000000Z.dump.gz');
      for (const file of [old, `${old}.sha256`, old.replace('.dump.gz', '.toc'), recent])
        fs.writeFileSync(file, 'x');
      const days = (n: number) => new Date(Date.now() - n * 86_400_000);
      fs.utimesSync(old, days(31), days(31));
      fs.utimesSync(recent, days(29), days(29));
      const result = await runScript('backup.sh', ['schema', '--retention-days', '30'], {
        ...env,
        BACKUP_DIR: retentionDir,
      });
      expect(result.code).toBe(0);
      const left = fs.readdirSync(retentionDir);
      expect(left).not.toContain(path.basename(old));
      expect(left).not.toContain(`${path.basename(old)}.sha256`);
      expect(left).not.toContain('x_full_20200101T000000Z.toc');
      expect(left).toContain(path.basename(recent));
      expect(result.stderr).toContain('removed=1');
    } finally {
      fs.rmSync(retentionDir, { recursive: true, force: true });
    }
  });
});

describe('restore.sh', () => {
  it('full restore into a fresh database: every table identical, tenant isolation intact, validation passes', async () => {
    const target = `${prefix}_restored`;
    const result = await runScript('restore.sh', [fullArchive, '--target-db', target, '--yes'], env);
    expect(result.stderr).not.toMatch(/level=error/);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('event=validate_passed');
    const targetUrl = withDatabase(cluster, target);
    const [before, after] = await Promise.all([tableFingerprints(sourceUrl), tableFingerprints(targetUrl)]);
    expect(Object.keys(after).length).toBeGreaterThanOrEqual(20);
    expect(after).toEqual(before);
    expect(before['crm.companies']!.rows).toBe(900);
    // Policies, grants and the runtime role survived: the app role sees one organisation at a time.
    const appUrl = withUser(
      targetUrl,
      'prospectflow_app',
      process.env.PROSPECTFLOW_APP_PASSWORD ?? 'prospectflow_app',
    );
    expect(await countAs(appUrl, ORG_A, 'crm.companies')).toBe(300);
    expect(await countAs(appUrl, ORG_B, 'crm.companies')).toBe(600);
  });

  it('never puts a password on a command line (admin URL, safety backup, setup, pg_restore, validation)', async () => {
    // Over the database the previous test restored, so the safety backup runs too. The cluster
    // URL gets a password if it has none (trust authentication ignores it).
    const target = `${prefix}_restored`;
    const adminUrl = new URL(cluster);
    if (!adminUrl.password) adminUrl.password = 'Sup3r-secret-admin-password-in-argv';
    const adminPassword = decodeURIComponent(adminUrl.password);
    const { shims, argsLog } = argumentShims();
    const result = await runScript('restore.sh', [fullArchive, '--target-db', target, '--yes'], {
      ...env,
      DATABASE_ADMIN_URL: adminUrl.toString(),
      PATH: `${shims}:${process.env.PATH}`,
      PG_BIN_DIR: shims,
    });
    expect(result.stderr).not.toMatch(/level=error/);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('event=safety_backup_done');
    expect(result.stderr).toContain('event=validate_passed');
    const args = fs.readFileSync(argsLog, 'utf8');
    expect(args).toContain('pg_restore ');
    expect(args).toContain('pg_dump ');
    expect(args).toContain('psql ');
    expect(args).not.toContain(adminPassword);
    expect(args).not.toContain(encodeURIComponent(adminPassword));
    // Role passwords (the safety backup's, the validation's migrator and app URLs) stay off too.
    expect(args).not.toContain('password=');
    for (const password of [
      decodeURIComponent(new URL(backupUrl).password),
      process.env.PROSPECTFLOW_MIGRATOR_PASSWORD ?? 'prospectflow_migrator',
      process.env.PROSPECTFLOW_APP_PASSWORD ?? 'prospectflow_app',
    ]) {
      expect(args).not.toContain(`:${password}@`);
      expect(args).not.toContain(`:${encodeURIComponent(password)}@`);
    }
    fs.rmSync(shims, { recursive: true, force: true });
  });

  it('restores a gpg-encrypted archive (decrypted in a private work directory)', async () => {
    expect(gpgArchive, 'the BACKUP_ENCRYPT=gpg test runs first').toBeDefined();
    const target = `${prefix}_restored_gpg`;
    const result = await runScript(
      'restore.sh',
      [gpgArchive!, '--target-db', target, '--yes', '--no-validate'],
      {
        ...env,
        GNUPGHOME: gnupgHome!,
      },
    );
    expect(result.stderr).not.toMatch(/level=error/);
    expect(result.code).toBe(0);
    const [before, after] = await Promise.all([
      tableFingerprints(sourceUrl),
      tableFingerprints(withDatabase(cluster, target)),
    ]);
    expect(after).toEqual(before);
  });

  it('BACKUP_ENCRYPT=age: only the encrypted archive is kept (0600), and restore.sh restores it with the identity', async () => {
    const keys = tempDir('age');
    const identity = path.join(keys, 'backups.key');
    execFileSync('age-keygen', ['-o', identity], { stdio: 'pipe' });
    const recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();
    const ownDir = tempDir('backups-age');
    try {
      const encrypted = { ...env, BACKUP_DIR: ownDir, BACKUP_ENCRYPT: 'age' };
      const refused = await runScript('backup.sh', ['full'], encrypted);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('BACKUP_AGE_RECIPIENT');
      const result = await runScript('backup.sh', ['full'], {
        ...encrypted,
        BACKUP_AGE_RECIPIENT: recipient,
      });
      expect(result.stderr).not.toMatch(/level=error/);
      expect(result.code).toBe(0);
      const archive = result.stdout.trim();
      expect(archive).toMatch(/\.dump\.gz\.age$/);
      expect(fs.readdirSync(ownDir).filter((f) => f.endsWith('.dump.gz') || f.includes('partial'))).toEqual(
        [],
      );
      expect((fs.statSync(archive).mode & 0o777).toString(8)).toBe('600');
      expect(fs.readFileSync(archive).subarray(0, 21).toString()).toBe('age-encryption.org/v1');

      const target = `${prefix}_restored_age`;
      const args = [archive, '--target-db', target, '--yes', '--no-validate'];
      const withoutKey = await runScript('restore.sh', args, env);
      expect(withoutKey.code).toBe(2);
      expect(withoutKey.stderr).toContain('BACKUP_AGE_IDENTITY');
      const restored = await runScript('restore.sh', args, { ...env, BACKUP_AGE_IDENTITY: identity });
      expect(restored.stderr).not.toMatch(/level=error/);
      expect(restored.code).toBe(0);
      const [before, after] = await Promise.all([
        tableFingerprints(sourceUrl),
        tableFingerprints(withDatabase(cluster, target)),
      ]);
      expect(after).toEqual(before);
    } finally {
      fs.rmSync(ownDir, { recursive: true, force: true });
      fs.rmSync(keys, { recursive: true, force: true });
    }
  });

  it('refuses a damaged archive before touching anything', async () => {
    const damagedDir = tempDir('damaged');
    try {
      const copy = path.join(damagedDir, path.basename(fullArchive));
      const bytes = fs.readFileSync(fullArchive);
      const middle = Math.floor(bytes.length / 2);
      bytes[middle] = bytes[middle]! ^ 0xff;
      fs.writeFileSync(copy, bytes);
      fs.copyFileSync(`${fullArchive}.sha256`, `${copy}.sha256`);
      const target = `${prefix}_damaged`;
      const result = await runScript('restore.sh', [copy, '--target-db', target, '--yes'], env);
      expect(result.code).toBe(5);
      expect(result.stderr).toContain('checksum mismatch');
      const exists = await withClient(cluster, (c) =>
        c.query('SELECT 1 FROM pg_database WHERE datname = $1', [target]).then((r) => r.rowCount),
      );
      expect(exists).toBe(0);
    } finally {
      fs.rmSync(damagedDir, { recursive: true, force: true });
    }
  });

  it('without --yes and without a terminal it takes the safety backup, then refuses and changes nothing', async () => {
    const before = await tableFingerprints(sourceUrl);
    const result = await runScript('restore.sh', [fullArchive, '--target-db', source], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('without confirmation');
    expect(safetyArchives(source)).toHaveLength(1);
    expect(await tableFingerprints(sourceUrl)).toEqual(before);
  });

  it('restores one schema in place after a safety backup, leaving the others as they are', async () => {
    const target = `${prefix}_onesch`;
    expect(
      (await runScript('restore.sh', [fullArchive, '--target-db', target, '--yes', '--no-validate'], env))
        .code,
    ).toBe(0);
    const targetUrl = withDatabase(cluster, target);
    const original = await tableFingerprints(targetUrl);
    // Damage crm and tracking; restore only crm.
    await withClient(targetUrl, async (c) => {
      await c.query(`UPDATE crm.companies SET name = 'overwritten' WHERE organisation_id = $1`, [ORG_A]);
      await c.query(`DELETE FROM crm.import_source_keys`);
      await c.query(`UPDATE tracking.open_events SET user_agent = 'changed'`);
    });
    const damaged = await tableFingerprints(targetUrl);
    const safetyBefore = safetyArchives(target).length;
    const result = await runScript(
      'restore.sh',
      [fullArchive, '--target-db', target, '--schema', 'crm', '--yes'],
      env,
    );
    expect(result.stderr).not.toMatch(/level=error/);
    expect(result.code).toBe(0);
    const after = await tableFingerprints(targetUrl);
    for (const [table, fingerprint] of Object.entries(after)) {
      if (table.startsWith('crm.')) expect(fingerprint, table).toEqual(original[table]);
      else expect(fingerprint, table).toEqual(damaged[table]);
    }
    expect(after['tracking.open_events']).not.toEqual(original['tracking.open_events']);
    expect(safetyArchives(target)).toHaveLength(safetyBefore + 1);
  });

  it('refuses a full restore of an archive that does not hold the whole database, before touching the target', async () => {
    // A one-schema, data-only or structure-only archive restored as a whole database used to drop
    // the target first and leave it empty (or without its migration history) when pg_restore failed.
    const target = `${prefix}_partial`;
    expect(
      (await runScript('restore.sh', [fullArchive, '--target-db', target, '--yes', '--no-validate'], env))
        .code,
    ).toBe(0);
    const targetUrl = withDatabase(cluster, target);
    const before = await tableFingerprints(targetUrl);
    const partial = [
      ...(await runScript('backup.sh', ['full', '--schema', 'crm'], env)).stdout.trim().split('\n'),
      ...(await runScript('backup.sh', ['data', '--schema', 'iam'], env)).stdout.trim().split('\n'),
      ...(await runScript('backup.sh', ['schema'], env)).stdout.trim().split('\n'),
    ];
    expect(partial).toHaveLength(3);
    const safetyBefore = safetyArchives(target).length;
    for (const archive of partial) {
      const result = await runScript('restore.sh', [archive, '--target-db', target, '--yes'], env);
      expect(result.code, archive).toBe(2);
      expect(result.stderr).toContain('not a whole-database archive');
    }
    expect(safetyArchives(target)).toHaveLength(safetyBefore);
    expect(await tableFingerprints(targetUrl)).toEqual(before);
  });

  it('rolls a schema restore back when it would orphan rows of another schema', async () => {
    const target = `${prefix}_orphan`;
    expect(
      (await runScript('restore.sh', [fullArchive, '--target-db', target, '--yes', '--no-validate'], env))
        .code,
    ).toBe(0);
    const targetUrl = withDatabase(cluster, target);
    // A position created after the backup, enrolled in a campaign (outreach → crm foreign key).
    await withClient(targetUrl, async (c) => {
      await c.query(
        `INSERT INTO crm.people (organisation_id, id, first_name, last_name) VALUES ($1, md5('late-person')::uuid, 'Late', 'Person')`,
        [ORG_A],
      );
      await c.query(
        `INSERT INTO crm.positions (organisation_id, id, person_id, company_id, email)
         VALUES ($1, md5('late-position')::uuid, md5('late-person')::uuid, md5('acompany1')::uuid, 'late@example.org')`,
        [ORG_A],
      );
      await c.query(
        `INSERT INTO outreach.campaign_enrollments (organisation_id, id, campaign_id, position_id)
         VALUES ($1, md5('late-enrollment')::uuid, md5('acampaign1')::uuid, md5('late-position')::uuid)`,
        [ORG_A],
      );
    });
    const before = await tableFingerprints(targetUrl);
    const result = await runScript(
      'restore.sh',
      [fullArchive, '--target-db', target, '--schema', 'crm', '--yes'],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('rolled back');
    expect(result.stderr).toMatch(/restore would break foreign key \S+ of outreach\.campaign_enrollments/);
    expect(await tableFingerprints(targetUrl)).toEqual(before);
  });
});
