import {
  createHash,
  createPrivateKey,
  createPublicKey,
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
  /** `email_verified` of an ID token (default true, as after Cognito's verification step). */
  emailVerified?: boolean;
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

/**
 * Offline stand-in for Cognito: mints ID and access tokens in Cognito's exact claim layout,
 * signed by a local RSA key whose JWKS the API serves at `/.well-known/jwks.json`.
 */
export class DevIssuer {
  readonly kid: string;
  private readonly publicKey: KeyObject;

  constructor(
    private readonly privateKey: KeyObject,
    private readonly defaults: { userPoolId: string; clientId: string },
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
    return new DevIssuer(createPrivateKey(fs.readFileSync(file)), defaults);
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
            scope: 'aws.cognito.signin.user.admin',
            username,
          };
    return signRs256({ kid: this.kid, alg: 'RS256' }, payload, this.privateKey);
  }
}
