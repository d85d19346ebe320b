import type { Queryable } from './database.js';
import type { VerifiedToken } from './verified-token.js';

export interface SyncedUser {
  id: string;
  created: boolean;
}

/**
 * Keeps `iam.users` in step with Cognito. One statement, `INSERT … ON CONFLICT (cognito_sub) DO
 * UPDATE`, so concurrent first requests for a new `sub` serialise on the unique index and all get
 * the same row. Profile fields come only from ID tokens (access tokens carry no email); a claim
 * that is absent never erases what we already know.
 */
export class UserSyncService {
  constructor(private readonly db: Queryable) {}

  async sync(token: VerifiedToken): Promise<SyncedUser> {
    const fromIdToken = token.tokenUse === 'id';
    const { rows } = await this.db.query<{ id: string; created: boolean }>(
      `INSERT INTO iam.users AS u (cognito_sub, cognito_pool_id, email, email_verified, first_name, last_name, last_seen_at)
       VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (cognito_sub) DO UPDATE SET
         cognito_pool_id = EXCLUDED.cognito_pool_id,
         email = CASE WHEN $7::boolean AND EXCLUDED.email IS NOT NULL THEN EXCLUDED.email ELSE u.email END,
         email_verified = CASE WHEN $7::boolean AND EXCLUDED.email IS NOT NULL THEN EXCLUDED.email_verified ELSE u.email_verified END,
         first_name = COALESCE(EXCLUDED.first_name, u.first_name),
         last_name = COALESCE(EXCLUDED.last_name, u.last_name),
         last_seen_at = now()
       RETURNING id, (xmax = 0) AS created`,
      [
        token.sub,
        token.userPoolId,
        fromIdToken ? (token.email ?? null) : null,
        fromIdToken ? token.emailVerified : false,
        token.givenName ?? null,
        token.familyName ?? null,
        fromIdToken,
      ],
    );
    const row = rows[0];
    if (!row) throw new Error('user upsert returned no row');
    return { id: row.id, created: row.created };
  }
}
