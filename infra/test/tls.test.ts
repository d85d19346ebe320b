import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningPgBouncer, serviceUser, startPgBouncer } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupClusterUrl } from './support/env.js';

/** A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it (openssl). */
function generateCertificates(dir: string, name: string): { ca: string; cert: string; key: string } {
  const file = (f: string) => path.join(dir, `${name}-${f}`);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name} CA`,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  );
  fs.writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('san.ext'),
    '-out',
    file('server.crt'),
  );
  return { ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') };
}

async function serverSslFor(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ ssl: boolean }>(
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    return rows[0]?.ssl ?? false;
  } finally {
    await client.end();
  }
}

describe('TLS: pgBouncer serves clients over TLS, clients verify it with sslmode=verify-full', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-tls-'));
  const owner = serviceUser('pgBouncer');
  let bouncer: RunningPgBouncer;
  let trusted: ReturnType<typeof generateCertificates>;
  let stranger: ReturnType<typeof generateCertificates>;
  const user = { user: 'postgres', password: 'tls-test-password' };

  beforeAll(async () => {
    trusted = generateCertificates(dir, 'trusted');
    stranger = generateCertificates(dir, 'stranger');
    // pgBouncer runs as the postgres OS user when the tests run as root: it must read its key.
    for (const f of fs.readdirSync(dir)) fs.chownSync(path.join(dir, f), owner.uid, owner.gid);
    fs.chownSync(dir, owner.uid, owner.gid);
    bouncer = await startPgBouncer({
      targetUrl: await backupClusterUrl(),
      poolSize: 2,
      users: [user],
      settings: {
        client_tls_sslmode: 'require',
        client_tls_cert_file: trusted.cert,
        client_tls_key_file: trusted.key,
        auth_type: 'plain',
      },
    });
  });

  afterAll(async () => {
    await bouncer?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const url = (query: string) => `${bouncer.url(user.user, user.password, 'postgres')}?${query}`;

  it('connects with sslmode=verify-full against the generated CA and runs a query over TLS', async () => {
    const client = new pg.Client({ connectionString: url(`sslmode=verify-full&sslrootcert=${trusted.ca}`) });
    await client.connect();
    try {
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      // node-postgres upgraded the socket: the peer certificate is the one the CA signed.
      const socket = (client as unknown as { connection: { stream: import('node:tls').TLSSocket } })
        .connection.stream;
      expect(socket.encrypted).toBe(true);
      expect(socket.getPeerCertificate().subject.CN).toBe('127.0.0.1');
    } finally {
      await client.end();
    }
  });

  it('refuses a server whose certificate another CA signed (verify-full fails closed)', async () => {
    const client = new pg.Client({ connectionString: url(`sslmode=verify-full&sslrootcert=${stranger.ca}`) });
    await expect(client.connect()).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('pgBouncer refuses a client that does not speak TLS (client_tls_sslmode=require)', async () => {
    const client = new pg.Client({ connectionString: url('sslmode=disable') });
    await expect(client.connect()).rejects.toThrow(/SSL required|server closed|ssl/i);
  });

  it('the same URL settings reach PostgreSQL directly: plain where the server has no TLS', async () => {
    // The machine's test cluster runs without TLS; the URL decides, not the code.
    expect(await serverSslFor(`${await backupClusterUrl()}`)).toBe(false);
  });
});

describe('TLS settings of the deployed pgBouncer (infra/pgbouncer/entrypoint.sh)', () => {
  const entrypoint = fileURLToPath(new URL('../pgbouncer/entrypoint.sh', import.meta.url));
  const ini = (env: Record<string, string>) =>
    execFileSync('sh', [entrypoint], {
      env: {
        PATH: process.env.PATH,
        PGBOUNCER_DRY_RUN: '1',
        PGBOUNCER_CONFIG_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'pf-pgb-')),
        ...env,
      },
      encoding: 'utf8',
    });

  it('writes client and server TLS settings when given, and none otherwise', () => {
    const withTls = ini({
      PGBOUNCER_CLIENT_TLS_SSLMODE: 'require',
      PGBOUNCER_CLIENT_TLS_CERT_FILE: '/etc/pgbouncer-tls/tls.crt',
      PGBOUNCER_CLIENT_TLS_KEY_FILE: '/etc/pgbouncer-tls/tls.key',
      PGBOUNCER_SERVER_TLS_SSLMODE: 'verify-full',
      PGBOUNCER_SERVER_TLS_CA_FILE: '/etc/pgbouncer-tls/ca.crt',
    });
    expect(withTls).toContain('client_tls_sslmode = require\n');
    expect(withTls).toContain('client_tls_key_file = /etc/pgbouncer-tls/tls.key\n');
    expect(withTls).toContain('server_tls_sslmode = verify-full\n');
    expect(withTls).toContain('server_tls_ca_file = /etc/pgbouncer-tls/ca.crt\n');
    expect(ini({})).not.toMatch(/_tls_/);
  });

  it('refuses, when NODE_ENV=production, the role-name defaults, the .env.example values and short passwords', () => {
    const strong = {
      PGBOUNCER_ADMIN_PASSWORD: 'Adm1nPassw0rdThatIsLongEnough',
      PROSPECTFLOW_APP_PASSWORD: 'AppPassw0rdThatIsLongEnough1',
      PROSPECTFLOW_WORKER_PASSWORD: 'W0rkerPasswordThatIsLongEnough',
    };
    const example = fs.readFileSync(fileURLToPath(new URL('../.env.example', import.meta.url)), 'utf8');
    const exampleValue = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(example)![1]!;
    const refused = (env: Record<string, string>) => {
      try {
        ini({ NODE_ENV: 'production', ...env });
        return undefined;
      } catch (error) {
        return String((error as { stderr?: string }).stderr);
      }
    };
    expect(refused(strong)).toBeUndefined();
    for (const name of Object.keys(strong)) {
      for (const value of [undefined, exampleValue(name), 'short-but-set']) {
        const env: Record<string, string> = { ...strong };
        if (value === undefined) delete env[name];
        else env[name] = value;
        const message = refused(env);
        expect(message, `${name}=${value}`).toMatch(new RegExp(name));
        // The refusal names the variable, never the value.
        if (value) expect(message).not.toContain(value);
      }
    }
    // Outside production the defaults stay (local runs, load tests).
    expect(ini({})).toContain('auth_type = scram-sha-256');
  });
});
