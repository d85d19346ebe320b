import type { Queryable } from './database.js';
import { AuthError } from './errors.js';
import { type AuthLogger, silentLogger } from './logger.js';
import type { UserInfoClient } from './user-info.js';
import type { VerifiedToken } from './verified-token.js';

export interface SyncedUser {
  id: string;
  created: boolean;
}

export interface UserSyncOptions {
  /**
   * Where an access token's email comes from (Cognito's userInfo endpoint, or the dev issuer).
   * Without it, access tokens never change the stored email.
   */
  userInfo?: UserInfoClient | undefined;
  logger?: AuthLogger;
}

/** What a sync does with the stored email: write the token's, mark it unverified, or leave it. */
type EmailUpdate =
  | { kind: 'set'; email: string; verified: boolean }
  | { kind: 'unverify' }
  | { kind: 'keep' };

/** The `iam.users.email` CHECK (migration 20260101000100), plus NUL, which PostgreSQL text refuses. */
const STORABLE_EMAIL = /^[^@\s\0]+@[^@\s\0]+\.[^@\s\0]+$/;

/**
 * An email the row can hold is set; one it cannot (e.g. `ada@localhost`) would fail the upsert and
 * turn every request of the user into a 503, so it is treated as unverified and not stored.
 */
function storableEmail(email: string, verified: boolean, sub: string, logger: AuthLogger): EmailUpdate {
  if (STORABLE_EMAIL.test(email)) return { kind: 'set', email, verified };
  logger.warn({ sub }, 'email claim cannot be stored; the stored email counts as unverified');
  return { kind: 'unverify' };
}

/** A name PostgreSQL text can hold (no NUL), else none. */
function storableName(name: string | undefined): string | null {
  return name === undefined || name.includes('\0') ? null : name;
}

/**
 * Keeps `iam.users` in step with Cognito. One statement, `INSERT … ON CONFLICT (cognito_sub) DO
 * UPDATE` inside `app.sync_user`, so concurrent first requests for a new `sub` serialise on the
 * unique index and all get the same row. A row belongs to the pool that first claimed it: the same `sub` from another
 * configured pool is refused (401 `token_invalid`), never given that user's memberships. Names
 * come only from ID tokens. The email comes from ID tokens, or for access
 * tokens (which carry none) from the userInfo endpoint when one is configured: its answer counts
 * only for the token's own `sub`. When that endpoint cannot answer, the stored email is kept but
 * marked unverified for now (fail closed: no invitation matches it) and the request goes on. A
 * claim that is absent never erases what we already know.
 */
export class UserSyncService {
  private readonly userInfo: UserInfoClient | undefined;
  private readonly logger: AuthLogger;

  constructor(
    private readonly db: Queryable,
    options: UserSyncOptions = {},
  ) {
    this.userInfo = options.userInfo;
    this.logger = options.logger ?? silentLogger;
  }

  private async emailUpdate(token: VerifiedToken, logger: AuthLogger): Promise<EmailUpdate> {
    if (token.tokenUse === 'id')
      return token.email
        ? storableEmail(token.email, token.emailVerified, token.sub, logger)
        : { kind: 'keep' };
    if (!this.userInfo) return { kind: 'keep' };
    const outcome = await this.userInfo.lookup(token, logger);
    if (outcome.ok && outcome.info.email)
      return storableEmail(outcome.info.email, outcome.info.emailVerified, token.sub, logger);
    logger.warn(
      { sub: token.sub, reason: outcome.ok ? 'no_email' : outcome.reason },
      'access token: no verified email from userInfo; the stored email counts as unverified (invitations are not matched)',
    );
    return { kind: 'unverify' };
  }

  async sync(token: VerifiedToken, logger: AuthLogger = this.logger): Promise<SyncedUser> {
    const update = await this.emailUpdate(token, logger);
    const { rows } = await this.db.query<{ id: string; created: boolean }>(
      // app.sync_user (migration 1010): the API role has no privilege on iam.users itself.
      'SELECT id, created FROM app.sync_user($1, $2, $3, $4, $5, $6, $7)',
      [
        token.sub,
        token.userPoolId,
        update.kind === 'set' ? update.email : null,
        update.kind === 'set' ? update.verified : false,
        storableName(token.givenName),
        storableName(token.familyName),
        update.kind,
      ],
    );
    const row = rows[0];
    if (!row) {
      // The sub is already another pool's user: never hand that user's row (and memberships) to
      // this pool's token. Cognito subs are uuids, so this is a forged or misconfigured pool.
      logger.error(
        { sub: token.sub, userPoolId: token.userPoolId },
        'token sub belongs to a user of another user pool; refused',
      );
      throw new AuthError('token_invalid', 'The token is not valid.');
    }
    return { id: row.id, created: row.created };
  }
}
