import {
  createSessionRedis,
  DEFAULT_SESSION_KEY_PREFIX,
  RedisSessionStore,
  sessionCacheKey,
} from '@prospectflow/auth-core';
import type { OrganisationStatus } from '@prospectflow/contracts';
import { withTenant } from '@prospectflow/tenant-context';
import pg from 'pg';

export interface OrganisationStatusOptions {
  /** The migrator's URL: it owns iam.organisations, which the API role cannot change. */
  migrationUrl: string;
  /** The API's session cache; without it (development) sessions are per API process. */
  redisUrl?: string | undefined;
  /** The API's session key prefix, when it was given another than auth-core's default. */
  keyPrefix?: string;
}

export interface OrganisationStatusChange {
  organisationId: string;
  status: OrganisationStatus;
  /** Members whose cached sessions were dropped (0 without Redis). */
  sessionsDropped: number;
}

export class OrganisationNotFound extends Error {}

/**
 * Suspends or reactivates an organisation — an operator's decision, so a command and no route —
 * and drops its members' cached sessions: the change holds from their next request, not only once
 * their sessions expire (AUTH_SESSION_TTL_SECONDS). Suspended, its members are refused with 403
 * `organisation_suspended`; its data stays.
 */
export async function setOrganisationStatus(
  organisationId: string,
  status: OrganisationStatus,
  options: OrganisationStatusOptions,
): Promise<OrganisationStatusChange> {
  const members = await updateStatus(organisationId, status, options.migrationUrl);
  if (!options.redisUrl) return { organisationId, status, sessionsDropped: 0 };
  // A one-off command waits for Redis (the API's client fails fast instead, to fall back to PostgreSQL).
  const store = new RedisSessionStore(
    createSessionRedis(options.redisUrl, {
      redisOptions: { enableOfflineQueue: true, commandTimeout: 5_000, maxRetriesPerRequest: 3 },
    }),
  );
  try {
    const prefix = options.keyPrefix ?? DEFAULT_SESSION_KEY_PREFIX;
    let sessionsDropped = 0;
    for (const { cognito_pool_id: pool, cognito_sub: sub } of members) {
      if (!pool) continue;
      await store.invalidate(sessionCacheKey(prefix, pool, sub));
      sessionsDropped += 1;
    }
    return { organisationId, status, sessionsDropped };
  } finally {
    await store.close();
  }
}

/**
 * Sets the status and returns the members' Cognito identities, in one tenant unit of the
 * organisation (memberships are a tenant table: RLS is forced for the migrator too).
 */
async function updateStatus(organisationId: string, status: OrganisationStatus, migrationUrl: string) {
  const pool = new pg.Pool({ connectionString: migrationUrl, max: 1 });
  try {
    return await withTenant(pool, { organisationId }, async (client) => {
      const updated = await client.query('UPDATE iam.organisations SET status = $2 WHERE id = $1', [
        organisationId,
        status,
      ]);
      if (updated.rowCount === 0)
        throw new OrganisationNotFound(`organisation ${organisationId} does not exist`);
      const { rows } = await client.query<{ cognito_sub: string; cognito_pool_id: string | null }>(
        `SELECT u.cognito_sub, u.cognito_pool_id
           FROM iam.organisation_users AS m JOIN iam.users AS u ON u.id = m.user_id`,
      );
      return rows;
    });
  } finally {
    await pool.end();
  }
}
