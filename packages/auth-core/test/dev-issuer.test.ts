import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthConfigError, DEV_CLIENT_ID, DEV_USER_POOL_ID, loadAuthConfig } from '../src/config.js';
import { DevIssuer, devSubForEmail } from '../src/dev/dev-issuer.js';
import { createTokenVerifierFromConfig } from '../src/factories.js';
import { authenticatePlugin } from '../src/plugins/authenticate.js';
import { devJwksPlugin } from '../src/plugins/jwks-route.js';
import { parseDuration, runTokenCli } from '../src/token-cli.js';

const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-dev-auth-'));
const env = { AUTH_MODE: 'dev', AUTH_DEV_KEY_DIR: keyDir };
afterAll(() => fs.rmSync(keyDir, { recursive: true, force: true }));

const decode = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

describe('dev issuer', () => {
  it('keeps one private key (mode 0600) under the key directory', () => {
    const first = DevIssuer.fromConfig(loadAuthConfig(env), env);
    const second = DevIssuer.fromConfig(loadAuthConfig(env), env);
    expect(second.kid).toBe(first.kid);
    expect(fs.statSync(path.join(keyDir, 'private.pem')).mode & 0o777).toBe(0o600);
    expect(first.jwks().keys).toEqual([
      expect.objectContaining({ kid: first.kid, alg: 'RS256', kty: 'RSA', use: 'sig' }),
    ]);
    expect(JSON.stringify(first.jwks())).not.toMatch(/"d"|"p"|"q"/);
  });

  it('is refused in production', () => {
    expect(() => DevIssuer.fromConfig(loadAuthConfig(env), { ...env, NODE_ENV: 'production' })).toThrow(
      AuthConfigError,
    );
    expect(() =>
      DevIssuer.fromConfig(loadAuthConfig({ COGNITO_USER_POOL_ID: 'eu-west-1_A1', COGNITO_CLIENT_ID: 'c' })),
    ).toThrow(AuthConfigError);
  });

  it('mints ID tokens in Cognito’s layout', () => {
    const token = runTokenCli(
      ['--email', 'ada@example.com', '--type', 'id', '--groups', 'admins, sales', '--expires', '15m'],
      env,
    );
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    const claims = decode(token);
    expect(Object.keys(header).sort()).toEqual(['alg', 'kid']);
    expect(claims).toMatchObject({
      iss: `https://cognito-idp.eu-west-1.amazonaws.com/${DEV_USER_POOL_ID}`,
      token_use: 'id',
      aud: DEV_CLIENT_ID,
      sub: devSubForEmail('ada@example.com'),
      'cognito:username': devSubForEmail('ada@example.com'),
      'cognito:groups': ['admins', 'sales'],
      email: 'ada@example.com',
      email_verified: true,
    });
    expect(claims.exp - claims.iat).toBe(900);
    expect(claims.client_id).toBeUndefined();
  });

  it('mints access tokens without email claims, with the openid and email scopes (userInfo answers the email)', () => {
    const claims = decode(runTokenCli(['--email', 'ada@example.com', '--sub', 'fixed-sub'], env));
    expect(claims).toMatchObject({
      token_use: 'access',
      client_id: DEV_CLIENT_ID,
      sub: 'fixed-sub',
      username: 'fixed-sub',
      scope: 'openid email aws.cognito.signin.user.admin',
    });
    expect(claims.aud).toBeUndefined();
    expect(claims.email).toBeUndefined();
    expect(claims.exp - claims.iat).toBe(3600);
  });

  it('validates CLI arguments', () => {
    expect(() => runTokenCli([], env)).toThrow(/usage/);
    // --help answers before anything is read or created (no key folder, no config check).
    const noKeys = {
      AUTH_DEV_KEY_DIR: path.join(os.tmpdir(), `pf-no-keys-${process.pid}`),
      NODE_ENV: 'production',
    };
    expect(runTokenCli(['--help'], noKeys)).toMatch(/^usage: pnpm token --email/);
    expect(runTokenCli(['-h'], noKeys)).toContain('--expires');
    expect(fs.existsSync(noKeys.AUTH_DEV_KEY_DIR)).toBe(false);
    expect(() => runTokenCli(['--email', 'a@b.c', '--type', 'refresh'], env)).toThrow(/--type/);
    expect(() => runTokenCli(['--email', 'a@b.c', '--bogus'], env)).toThrow();
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('2h')).toBe(7200);
    expect(() => parseDuration('2w')).toThrow();
    expect(() => parseDuration('2d')).toThrow();
  });

  it('verifies its tokens in dev mode from memory, and over AUTH_JWKS_URL served by the API', async () => {
    const config = loadAuthConfig(env);
    const inMemory = createTokenVerifierFromConfig(config, { env });
    const token = runTokenCli(['--email', 'ada@example.com'], env);
    expect((await inMemory.verify(token)).sub).toBe(devSubForEmail('ada@example.com'));

    const api = Fastify();
    await api.register(authenticatePlugin, { verifier: inMemory, hydrate: false });
    await api.register(devJwksPlugin, { issuer: DevIssuer.fromConfig(config, env) });
    api.get('/me', async (request) => ({ sub: request.auth?.sub }));
    await api.listen({ port: 0, host: '127.0.0.1' });
    try {
      const address = api.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const jwksUrl = `http://127.0.0.1:${port}/.well-known/jwks.json`;
      const published = await fetch(jwksUrl);
      expect(published.status).toBe(200);
      const remote = createTokenVerifierFromConfig(loadAuthConfig({ ...env, AUTH_JWKS_URL: jwksUrl }), {
        env,
      });
      expect(await remote.hydrate()).toBe(true);
      expect((await remote.verify(token)).sub).toBe(devSubForEmail('ada@example.com'));
      const me = await fetch(`http://127.0.0.1:${port}/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(await me.json()).toEqual({ sub: devSubForEmail('ada@example.com') });
    } finally {
      await api.close();
    }
  });

  it('runs as a CLI process, and refuses production', () => {
    const cli = ['--import', 'tsx', 'src/token-cli.ts', '--email', 'cli@example.com', '--type', 'id'];
    const token = execFileSync(process.execPath, cli, {
      cwd: packageDir,
      env: { ...process.env, ...env, NODE_ENV: 'development' },
      encoding: 'utf8',
    }).trim();
    expect(decode(token).email).toBe('cli@example.com');
    const refused = spawnSync(process.execPath, cli, {
      cwd: packageDir,
      env: { ...process.env, ...env, NODE_ENV: 'production' },
      encoding: 'utf8',
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/refused when NODE_ENV=production/);
  });
});
