import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { hasRole, requireAuth, requireRole } from '@prospectflow/auth-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { badRequest, conflict, notFound, ProblemError, unprocessable } from '../../../lib/problem.js';
import { Role, TenantHeaders, Uuid } from '../../../lib/schemas.js';
import { invalidateSessions } from '../../../lib/sessions.js';

const Member = Type.Object({
  userId: Uuid,
  email: Type.Union([Type.String(), Type.Null()]),
  firstName: Type.Union([Type.String(), Type.Null()]),
  lastName: Type.Union([Type.String(), Type.Null()]),
  role: Role,
  status: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

const OrganisationParams = Type.Object({ organisationId: Uuid });
const MemberParams = Type.Object({ organisationId: Uuid, userId: Uuid });

interface MemberRow {
  user_id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  role: 'owner' | 'admin' | 'member' | 'viewer';
  status: string;
  created_at: Date;
}

const MEMBER_COLUMNS = `m.user_id, u.email::text AS email, u.first_name, u.last_name, m.role, m.status, m.created_at`;

function toMember(row: MemberRow) {
  return {
    userId: row.user_id,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    role: row.role,
    status: row.status,
    createdAt: row.created_at.toISOString(),
  };
}

async function findMember(
  client: TenantClient,
  userId: string,
  lock = false,
): Promise<MemberRow | undefined> {
  const { rows } = await client.query<MemberRow>(
    `SELECT ${MEMBER_COLUMNS} FROM iam.organisation_users AS m JOIN iam.users AS u ON u.id = m.user_id
      WHERE m.user_id = $1${lock ? ' FOR UPDATE OF m' : ''}`,
    [userId],
  );
  return rows[0];
}

/** An organisation keeps at least one active owner: refuse the change that would remove the last. */
async function assertOwnerRemains(client: TenantClient, leavingUserId: string): Promise<void> {
  const { rows } = await client.query<{ owners: number }>(
    `SELECT count(*)::int AS owners FROM iam.organisation_users
      WHERE role = 'owner' AND status = 'active' AND user_id <> $1`,
    [leavingUserId],
  );
  if ((rows[0]?.owners ?? 0) === 0) {
    throw new ProblemError(
      409,
      'last_owner',
      'An organisation needs at least one owner; appoint another first.',
    );
  }
}

/** Only owners grant, change or remove the owner role. */
function assertMayManage(request: FastifyRequest, ...roles: (string | undefined)[]): void {
  const callerRole = requireAuth(request).organisation!.role;
  if (roles.includes('owner') && !hasRole(callerRole, 'owner')) {
    throw new ProblemError(
      403,
      'insufficient_role',
      'Only an owner can grant, change or remove the owner role.',
    );
  }
}

/**
 * /v1/organisations/:organisationId/members — the organisation comes from x-organisation-id like
 * every tenant route; the path must name the same one. Changes are admin only and invalidate
 * the affected user's cached session after the commit.
 */
const members: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addHook('onRequest', async (request) => {
    const auth = request.auth;
    const scoped = auth?.organisation?.organisationId;
    const named = (request.params as { organisationId?: string }).organisationId?.toLowerCase();
    if (!auth || !scoped || !named || named === scoped) return;
    // Never hint whether another organisation exists: not a member of the named one → 403.
    const member = auth.session?.memberships.some((m) => m.organisationId === named && m.status === 'active');
    if (!member) throw new ProblemError(403, 'not_a_member', 'You are not a member of this organisation.');
    throw badRequest('organisation_mismatch', 'The path and x-organisation-id name different organisations.');
  });

  fastify.get(
    '/:organisationId/members',
    {
      schema: {
        tags: ['identity'],
        summary: 'Members of the organisation',
        params: OrganisationParams,
        headers: TenantHeaders,
        response: { 200: Type.Object({ items: Type.Array(Member) }) },
      },
    },
    async () => {
      const rows = await fastify.db.tenant(async (client) => {
        const result = await client.query<MemberRow>(
          `SELECT ${MEMBER_COLUMNS} FROM iam.organisation_users AS m JOIN iam.users AS u ON u.id = m.user_id
            ORDER BY m.created_at, m.user_id`,
        );
        return result.rows;
      });
      return { items: rows.map(toMember) };
    },
  );

  fastify.post(
    '/:organisationId/members',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['identity'],
        summary: 'Add a user (who has signed in once) by email, with a role — admin only',
        params: OrganisationParams,
        headers: TenantHeaders,
        body: Type.Object({
          email: Type.String({ format: 'email', maxLength: 320 }),
          role: Type.Optional(Role),
        }),
        response: { 201: Member },
      },
    },
    async (request, reply) => {
      const role = request.body.role ?? 'member';
      assertMayManage(request, role);
      const email = request.body.email.trim().toLowerCase();
      const member = await fastify.db.tenant(async (client) => {
        const users = await client.query<{ id: string }>(
          `SELECT id FROM iam.users WHERE email = $1 ORDER BY email_verified DESC, created_at LIMIT 1`,
          [email],
        );
        const userId = users.rows[0]?.id;
        if (!userId) {
          throw unprocessable(
            'unknown_user',
            'No user with this email has signed in yet; ask them to sign in once.',
          );
        }
        const inserted = await client.query(
          `INSERT INTO iam.organisation_users (user_id, role, status) VALUES ($1, $2, 'active')
           ON CONFLICT (organisation_id, user_id) DO NOTHING RETURNING user_id`,
          [userId, role],
        );
        if (inserted.rowCount === 0)
          throw conflict('already_a_member', 'This user is already a member.', userId);
        return (await findMember(client, userId))!;
      });
      await invalidateSessions(fastify, request.log, member.user_id);
      reply.code(201);
      return toMember(member);
    },
  );

  fastify.patch(
    '/:organisationId/members/:userId',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['identity'],
        summary: "Change a member's role or status — admin only",
        params: MemberParams,
        headers: TenantHeaders,
        body: Type.Object(
          {
            role: Type.Optional(Role),
            status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
          },
          { minProperties: 1 },
        ),
        response: { 200: Member },
      },
    },
    async (request) => {
      const { userId } = request.params;
      const { role, status } = request.body;
      const member = await fastify.db.tenant(async (client) => {
        const current = await findMember(client, userId, true);
        if (!current) throw notFound('Member', 'member_not_found');
        assertMayManage(request, current.role, role);
        const losesOwner = current.role === 'owner' && ((role && role !== 'owner') || status === 'suspended');
        if (losesOwner) await assertOwnerRemains(client, userId);
        await client.query(
          `UPDATE iam.organisation_users SET role = COALESCE($2, role), status = COALESCE($3, status)
            WHERE user_id = $1`,
          [userId, role ?? null, status ?? null],
        );
        return (await findMember(client, userId))!;
      });
      await invalidateSessions(fastify, request.log, userId);
      return toMember(member);
    },
  );

  fastify.delete(
    '/:organisationId/members/:userId',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['identity'],
        summary: 'Remove a member — admin only',
        params: MemberParams,
        headers: TenantHeaders,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { userId } = request.params;
      await fastify.db.tenant(async (client) => {
        const current = await findMember(client, userId, true);
        if (!current) throw notFound('Member', 'member_not_found');
        assertMayManage(request, current.role);
        if (current.role === 'owner') await assertOwnerRemains(client, userId);
        await client.query('DELETE FROM iam.organisation_users WHERE user_id = $1', [userId]);
      });
      await invalidateSessions(fastify, request.log, userId);
      return reply.code(204).send(null);
    },
  );
};

export default members;
