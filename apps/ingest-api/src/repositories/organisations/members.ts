import type { Role } from '@prospectflow/auth-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import type { Static } from 'typebox';
import { notFound } from '../../lib/problem.js';
import type { Database } from '../../plugins/app/db.js';
import type { Member as MemberSchema } from '../../routes/v1/organisations/schema.js';
import { assertOwnerRemains, lockOwnerSet } from './index.js';

/** A member row as the members routes answer it (their schema's type). */
export type Member = Static<typeof MemberSchema>;

const MEMBER = `SELECT m.user_id AS "userId", u.email::text AS email, u.first_name AS "firstName",
  u.last_name AS "lastName", m.role, m.status, to_json(m.created_at) #>> '{}' AS "createdAt"
  FROM iam.organisation_users AS m CROSS JOIN LATERAL app.user_account(m.user_id) AS u`;

async function findMember(client: TenantClient, userId: string): Promise<Member | undefined> {
  return (await client.query<Member>(`${MEMBER} WHERE m.user_id = $1`, [userId])).rows[0];
}

/**
 * The request's organisation's memberships. Changes that touch the owner role lock the owner set
 * and re-read the actor's own role inside that lock, so a request authorised a moment ago by a
 * role that has since been taken away changes nothing.
 */
export function membersRepository(db: Database) {
  /** Runs `fn` with the owner set locked and the member `userId` (404 when absent). */
  const withLockedMember = <T>(userId: string, fn: (client: TenantClient, member: Member) => Promise<T>) =>
    db.tenant(async (client) => {
      await lockOwnerSet(client);
      const member = await findMember(client, userId);
      if (!member) throw notFound('Member', 'member_not_found');
      return await fn(client, member);
    });

  return {
    async list(): Promise<Member[]> {
      return await db.tenant(
        async (client) => (await client.query<Member>(`${MEMBER} ORDER BY m.created_at, m.user_id`)).rows,
      );
    },

    /**
     * The actor's current role, read inside the caller's unit (after lockOwnerSet). A membership
     * that is not active (suspended) confers no role: undefined, as for a non-member.
     */
    async roleOf(client: TenantClient, userId: string): Promise<Role | undefined> {
      const member = await findMember(client, userId);
      return member?.status === 'active' ? member.role : undefined;
    },

    /**
     * Changes a member's role or status. `authorise(member)` runs inside the lock (e.g. only owners
     * touch owners); the last active owner is never demoted or suspended.
     */
    async change(
      userId: string,
      changes: { role?: Role | undefined; status?: 'active' | 'suspended' | undefined },
      authorise: (client: TenantClient, member: Member) => Promise<void>,
    ): Promise<Member> {
      return await withLockedMember(userId, async (client, current) => {
        await authorise(client, current);
        const { role, status } = changes;
        const losesOwner = current.role === 'owner' && ((role && role !== 'owner') || status === 'suspended');
        if (losesOwner) await assertOwnerRemains(client, userId);
        await client.query(
          `UPDATE iam.organisation_users SET role = COALESCE($2, role), status = COALESCE($3, status)
            WHERE user_id = $1`,
          [userId, role ?? null, status ?? null],
        );
        return (await findMember(client, userId))!;
      });
    },

    /** Removes a member (never the last active owner); `authorise` as for change(). */
    async remove(userId: string, authorise: (client: TenantClient, member: Member) => Promise<void>) {
      await withLockedMember(userId, async (client, current) => {
        await authorise(client, current);
        if (current.role === 'owner') await assertOwnerRemains(client, userId);
        await client.query('DELETE FROM iam.organisation_users WHERE user_id = $1', [userId]);
      });
    },
  };
}
