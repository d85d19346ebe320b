import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mailboxSecretBinding } from '@prospectflow/mailboxes';
import { LocalKeyProvider, SecretBox } from '@prospectflow/secrets';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateSealedSecrets } from '../src/mailboxes/rotate.js';
import { createOrg, openTestDb, type TestDb } from './support/db.js';
import { silent } from './support/worker.js';

describe('key rotation: data keys re-wrapped under the new key, ciphertexts untouched', () => {
  let t: TestDb;
  let pool: pg.Pool;
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const old = new SecretBox(new LocalKeyProvider({ active: 'k1', keys: { k1 } }));
  const rotated = new SecretBox(new LocalKeyProvider({ active: 'k2', keys: { k1, k2 } }));
  const retired = new SecretBox(new LocalKeyProvider({ active: 'k2', keys: { k2 } }));
  const orgs: string[] = [];
  const mailboxes: string[] = [];

  beforeAll(async () => {
    t = await openTestDb('rotate');
    pool = new pg.Pool({ connectionString: t.workerUrl, max: 2 });
    for (const slug of ['rot-a', 'rot-b']) {
      const org = await createOrg(t.admin, slug);
      orgs.push(org);
      const id = randomUUID();
      mailboxes.push(id);
      const sealed = await old.sealJson({ smtpPassword: `pw-${slug}` }, mailboxSecretBinding(org, id));
      await t.admin.query(
        `INSERT INTO outreach.mailboxes (organisation_id, id, from_name, from_address, provider, smtp_host, smtp_port, smtp_security, smtp_user,
           imap_host, imap_port, imap_security, imap_user, secret_ciphertext, secret_wrapped_key, secret_key_id)
         VALUES ($1, $2, 'S', $3, 'smtp_imap', 'smtp.example.com', 587, 'starttls', $4, 'imap.example.com', 993, 'tls', $4, $5, $6, $7)`,
        [org, id, `s@${slug}.test`, `s@${slug}.test`, sealed.ciphertext, sealed.wrappedKey, sealed.keyId],
      );
      const dkim = await old.seal('-----BEGIN PRIVATE KEY-----', {
        organisationId: org,
        recordId: id,
        purpose: 'dkim-private-key',
      });
      await t.admin.query(
        `INSERT INTO outreach.sending_domains (organisation_id, id, domain, proof_token, dkim_selector, dkim_public_key, dkim_ciphertext, dkim_wrapped_key, dkim_key_id)
         VALUES ($1, $2, $3, repeat('a', 32), 's1', 'p', $4, $5, $6)`,
        [org, id, `${slug}.test`, dkim.ciphertext, dkim.wrappedKey, dkim.keyId],
      );
    }
  });
  afterAll(async () => {
    await pool?.end();
    await t?.close();
  });

  it('dry run counts, the run re-wraps every organisation, and the old key can then be retired', async () => {
    const before = (await t.admin.query(`SELECT id, secret_ciphertext FROM outreach.mailboxes ORDER BY id`))
      .rows;
    const dry = await rotateSealedSecrets(pool, rotated, silent, { dryRun: true });
    expect(dry).toMatchObject({ activeKeyId: 'local:k2', organisations: 2, rewrapped: 0 });
    const report = await rotateSealedSecrets(pool, rotated, silent);
    expect(report).toMatchObject({ organisations: 2, rewrapped: 4, failed: [] });
    const after = (
      await t.admin.query(
        `SELECT id, organisation_id, secret_ciphertext, secret_wrapped_key, secret_key_id FROM outreach.mailboxes ORDER BY id`,
      )
    ).rows;
    expect(after.map((r) => r.secret_key_id)).toEqual(['local:k2', 'local:k2']);
    expect(after.map((r) => r.secret_ciphertext.toString('hex'))).toEqual(
      before.map((r) => r.secret_ciphertext.toString('hex')),
    );
    for (const r of after) {
      const opened = await retired.openJson<{ smtpPassword: string }>(
        { ciphertext: r.secret_ciphertext, wrappedKey: r.secret_wrapped_key, keyId: r.secret_key_id },
        mailboxSecretBinding(r.organisation_id, r.id),
      );
      expect(opened.smtpPassword).toMatch(/^pw-rot-/);
    }
    expect((await t.admin.query(`SELECT DISTINCT dkim_key_id FROM outreach.sending_domains`)).rows).toEqual([
      { dkim_key_id: 'local:k2' },
    ]);
    expect(await rotateSealedSecrets(pool, rotated, silent)).toMatchObject({
      organisations: 0,
      rewrapped: 0,
    });
  });

  it('reports a secret that does not open (moved from another organisation) and leaves it as it was', async () => {
    const [a, b] = mailboxes;
    await t.admin.query(
      `UPDATE outreach.mailboxes dst SET secret_ciphertext = src.secret_ciphertext, secret_wrapped_key = src.secret_wrapped_key, secret_key_id = src.secret_key_id
       FROM outreach.mailboxes src WHERE src.id = $1 AND dst.id = $2`,
      [a, b],
    );
    const report = await rotateSealedSecrets(
      pool,
      new SecretBox(new LocalKeyProvider({ active: 'k3', keys: { k1, k2, k3: randomBytes(32) } })),
      silent,
    );
    expect(report.rewrapped).toBe(3); // a's mailbox and both DKIM keys
    expect(report.failed).toEqual([
      expect.objectContaining({ organisationId: orgs[1], table: 'outreach.mailboxes', id: b }),
    ]);
  });
});

describe('rotate-keys command: bad settings or no database end in one JSON error line and exit 2', () => {
  const key = randomBytes(32).toString('base64');
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/rotate-keys.ts'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { PATH: process.env.PATH, WORKER_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  /** Every line is JSON; the errors among them. */
  const errors = (out: string) =>
    out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level >= 50);

  it.each([
    ['a key written the wrong way round', { SECRETS_LOCAL_KEYS: `${key}:k1` }, /key 1 has an invalid id/],
    [
      'an active key not in the ring',
      { SECRETS_LOCAL_KEYS: `k1:${key}`, SECRETS_ACTIVE_KEY: 'k2' },
      /not in the key ring/,
    ],
    ['an unreachable database', { SECRETS_LOCAL_KEYS: `k1:${key}` }, /rotation stopped: .*ECONNREFUSED/],
  ])('%s', (_label, env, message) => {
    const result = run(env);
    expect(result.status).toBe(2);
    expect(errors(result.stdout + result.stderr)).toEqual([
      expect.objectContaining({ msg: expect.stringMatching(message) }),
    ]);
    expect(result.stdout + result.stderr).not.toContain(key);
  });
});
