import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { roleUrl } from '@prospectflow/db-schema';
import { prepareTestTemplate } from '@prospectflow/db-schema/testing';
import {
  dumpableClusterUrl,
  issueRefreshToken,
  serverVersion,
  testMail,
  toolMajor,
  withDatabase,
} from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, openTestDb, type TestDb } from './support/db.js';
import { connectMailbox, proveSendingDomain, testDkimKey } from './support/mailboxes.js';

const run = promisify(execFile);
const PASSWORD = 'Clear-Pa55word-7f3a9c';
const IMAP_PASSWORD = 'Clear-Imap-Pa55-1b2c3d';

/** The base64 body of a PEM key: what would show in a dump if the key were stored in clear. */
const pemLines = (pem: string) =>
  pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .slice(0, 3);

/**
 * pg_dump refuses servers newer than itself: when the run's cluster is one (an embedded PostgreSQL
 * 18 beside Debian's pg_dump 15), the database is set up on a cluster this pg_dump can read
 * instead; dumpableClusterUrl fails, never skips, when there is none.
 */
async function dumpableTestDb(): Promise<TestDb> {
  const own = await openTestDb('dump');
  const pgDump = process.env.PG_BIN_DIR ? join(process.env.PG_BIN_DIR, 'pg_dump') : 'pg_dump';
  if (Number((await serverVersion(own.db.adminUrl)).split('.')[0]) <= toolMajor(pgDump)) return own;
  await own.close();
  const cluster = await dumpableClusterUrl();
  const name = `pf_dump_${randomBytes(4).toString('hex')}`;
  const adminUrl = withDatabase(cluster, name);
  await prepareTestTemplate(cluster, adminUrl);
  const admin = new pg.Pool({ connectionString: adminUrl, max: 4 });
  const drop = async () => {
    const c = new pg.Client({ connectionString: cluster });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
  return {
    db: { name, adminUrl, drop },
    admin,
    workerUrl: roleUrl(adminUrl, 'worker'),
    async close() {
      await admin.end();
      await drop();
    },
  };
}

describe('a pg_dump of a database with connected mailboxes holds no secret in clear', () => {
  let t: TestDb;
  let refreshToken: string;
  let dump: string;

  beforeAll(async () => {
    t = await dumpableTestDb();
    const org = await createOrg(t.admin, 'dump-org');
    await connectMailbox(t.admin, org, {
      address: 'dump-password@sender.test',
      secrets: { smtpPassword: PASSWORD, imapPassword: IMAP_PASSWORD },
      verified: true,
    });
    refreshToken = issueRefreshToken(testMail(), 'dump-oauth@sender.test');
    await connectMailbox(t.admin, org, {
      address: 'dump-oauth@sender.test',
      provider: 'google',
      secrets: { refreshToken },
      verified: true,
    });
    await proveSendingDomain(t.admin, org, 'dump-domain.test');
    const pgDump = process.env.PG_BIN_DIR ? join(process.env.PG_BIN_DIR, 'pg_dump') : 'pg_dump';
    dump = (
      await run(pgDump, ['--no-owner', '--data-only', '--inserts', t.db.adminUrl], {
        maxBuffer: 256 * 1024 * 1024,
      })
    ).stdout;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('dumped the rows (the check can fail: what is not secret is there in clear)', () => {
    expect(dump).toContain('dump-password@sender.test');
    expect(dump).toContain('dump-oauth@sender.test');
    expect(dump).toContain('dump-domain.test');
    // The public half of the DKIM key is public: it is in the DNS record and in the dump.
    expect(dump).toContain(testDkimKey('dump-domain.test').recordValue.slice(-40));
  });

  it('has no password, refresh token or DKIM private key in it, as text or as bytea hex', () => {
    for (const secret of [PASSWORD, IMAP_PASSWORD, refreshToken]) {
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(Buffer.from(secret).toString('hex'));
    }
    for (const line of pemLines(testDkimKey('dump-domain.test').privateKeyPem))
      expect(dump).not.toContain(line);
    expect(dump).not.toMatch(/PRIVATE KEY/);
  });
});
