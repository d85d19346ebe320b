import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createVerify,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Jwks } from 'aws-jwt-verify/jwk';
import { type AuthConfig, AuthConfigError } from '../config.js';
import { jwksOf, jwkThumbprint, publicJwk, signRs256 } from './jws.js';

export interface MintOptions {
  email: string;
  /** Defaults to a uuid derived from the email, so the same email is the same user. */
  sub?: string;
  type?: 'id' | 'access';
  groups?: string[];
  /** Lifetime in seconds (default 3600). */
  expiresInSeconds?: number;
  givenName?: string;
  familyName?: string;
  /**
   * Whether the email is verified (default true, as after Cognito's verification step): the ID
   * token's `email_verified`, and what the dev userInfo endpoint answers for an access token.
   */
  emailVerified?: boolean;
  /** `scope` of an access token (default `openid email aws.cognito.signin.user.admin`). */
  scope?: string;
  userPoolId?: string;
  clientId?: string;
  /** Seconds since epoch used as `iat`; defaults to now. */
  now?: number;
}

/** A deterministic uuid-shaped `sub` for an email (Cognito subs are uuids). */
export function devSubForEmail(email: string): string {
  const hex = createHash('sha256').update(`prospectflow-dev:${email.toLowerCase()}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A refused dev userInfo request, with the status Cognito's endpoint would answer. */
export class DevUserInfoError extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly error: 'invalid_request' | 'invalid_token',
    message: string,
  ) {
    super(message);
    this.name = 'DevUserInfoError';
  }
}

interface DevUser {
  sub: string;
  username: string;
  email: string;
  email_verified: 'true' | 'false';
}

const SUB_FILE = /^[\w-]{1,128}$/;

/**
 * Offline stand-in for Cognito: mints ID and access tokens in Cognito's exact claim layout,
 * signed by a local RSA key whose JWKS the API serves at `/.well-known/jwks.json`. Like Cognito it
 * remembers each minted user's email (in memory, and under `<keyDir>/users/` when it has a key
 * folder, so tokens printed by `pnpm token` are known to the API) and answers the userInfo request
 * of an access token (`userInfo()`, served over HTTP by `devJwksPlugin`'s `userInfoPath`).
 */
export class DevIssuer {
  readonly kid: string;
  private readonly publicKey: KeyObject;
  private readonly users = new Map<string, DevUser>();

  constructor(
    private readonly privateKey: KeyObject,
    private readonly defaults: { userPoolId: string; clientId: string },
    private readonly usersDir?: string,
  ) {
    this.publicKey = createPublicKey(privateKey);
    this.kid = jwkThumbprint(this.publicKey);
  }

  /** Loads the key from `keyDir/private.pem`, creating it (mode 0600) on first use. */
  static fromDirectory(keyDir: string, defaults: { userPoolId: string; clientId: string }): DevIssuer {
    const file = path.join(keyDir, 'private.pem');
    if (!fs.existsSync(file)) {
      fs.mkdirSync(keyDir, { recursive: true, mode: 0o700 });
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
      try {
        // `wx`: when two processes start together, the first key wins and both read it back.
        fs.writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    return new DevIssuer(createPrivateKey(fs.readFileSync(file)), defaults, path.join(keyDir, 'users'));
  }

  /** The issuer for `AuthConfig` in dev mode; refuses production. */
  static fromConfig(config: AuthConfig, env: Record<string, string | undefined> = process.env): DevIssuer {
    if (config.mode !== 'dev') throw new AuthConfigError(['the dev issuer needs AUTH_MODE=dev']);
    if (env.NODE_ENV === 'production')
      throw new AuthConfigError(['the dev issuer is refused when NODE_ENV=production']);
    return DevIssuer.fromDirectory(config.devKeyDir, {
      userPoolId: config.userPoolIds[0]!,
      clientId: config.clientIds[0]!,
    });
  }

  jwks(): Jwks {
    return jwksOf(publicJwk(this.publicKey, this.kid));
  }

  mint(options: MintOptions): string {
    const userPoolId = options.userPoolId ?? this.defaults.userPoolId;
    const clientId = options.clientId ?? this.defaults.clientId;
    const region = userPoolId.slice(0, userPoolId.indexOf('_'));
    const now = options.now ?? Math.floor(Date.now() / 1000);
    const sub = options.sub ?? devSubForEmail(options.email);
    const username = sub;
    const common = {
      sub,
      ...(options.groups && options.groups.length > 0 ? { 'cognito:groups': options.groups } : {}),
      iss: `https://cognito-idp.${region}.amazonaws.com/${userPoolId}`,
      origin_jti: randomUUID(),
      event_id: randomUUID(),
      auth_time: now,
      exp: now + (options.expiresInSeconds ?? 3600),
      iat: now,
      jti: randomUUID(),
    };
    const payload =
      options.type === 'id'
        ? {
            ...common,
            email_verified: options.emailVerified ?? true,
            'cognito:username': username,
            aud: clientId,
            token_use: 'id',
            email: options.email,
            ...(options.givenName ? { given_name: options.givenName } : {}),
            ...(options.familyName ? { family_name: options.familyName } : {}),
          }
        : {
            ...common,
            client_id: clientId,
            token_use: 'access',
            scope: options.scope ?? 'openid email aws.cognito.signin.user.admin',
            username,
          };
    this.remember({
      sub,
      username,
      email: options.email,
      email_verified: (options.emailVerified ?? true) ? 'true' : 'false',
    });
    return signRs256({ kid: this.kid, alg: 'RS256' }, payload, this.privateKey);
  }

  private remember(user: DevUser): void {
    this.users.set(user.sub, user);
    if (!this.usersDir || !SUB_FILE.test(user.sub)) return;
    fs.mkdirSync(this.usersDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.usersDir, `${user.sub}.json`);
    const temporary = `${file}.${process.pid}.${randomUUID()}`;
    fs.writeFileSync(temporary, JSON.stringify(user), { mode: 0o600 });
    fs.renameSync(temporary, file);
  }

  private known(sub: string): DevUser | undefined {
    if (this.usersDir && SUB_FILE.test(sub)) {
      try {
        const stored = JSON.parse(
          fs.readFileSync(path.join(this.usersDir, `${sub}.json`), 'utf8'),
        ) as DevUser;
        if (stored.sub === sub) return stored;
      } catch {
        // Not minted by a process sharing this key folder: fall back to memory.
      }
    }
    return this.users.get(sub);
  }

  /**
   * Cognito's `GET /oauth2/userInfo` for an access token signed by this issuer: `sub`, `username`
   * and, with the `email` scope, `email` and `email_verified` (`"true"`/`"false"`, as Cognito).
   * Throws DevUserInfoError (401 invalid_token, 400 without the `openid` scope) as Cognito answers.
   */
  userInfo(accessToken: string): Record<string, string> {
    const parts = accessToken.split('.');
    const invalid = (message: string) => new DevUserInfoError(401, 'invalid_token', message);
    if (parts.length !== 3) throw invalid('malformed token');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString());
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString());
    } catch {
      throw invalid('malformed token');
    }
    const signed = createVerify('RSA-SHA256')
      .update(`${parts[0]}.${parts[1]}`)
      .verify(this.publicKey, Buffer.from(parts[2]!, 'base64url'));
    if (header.kid !== this.kid || header.alg !== 'RS256' || !signed) throw invalid('bad signature');
    if (claims.token_use !== 'access') throw invalid('not an access token');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) throw invalid('token expired');
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes('openid'))
      throw new DevUserInfoError(400, 'invalid_request', 'the access token has no openid scope');
    const sub = String(claims.sub);
    const user = this.known(sub);
    return {
      sub,
      username: String(claims.username ?? sub),
      ...(user && scopes.includes('email') ? { email: user.email, email_verified: user.email_verified } : {}),
    };
  }
}
