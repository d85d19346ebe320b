import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { named } from '../../../lib/openapi/components.js';
import { MANAGE } from '../../../lib/role-policy.js';
import { Nullable, Page, PageQuery, Uuid } from '../../../lib/schemas.js';
import { auditRepository } from '../../../repositories/audit.js';

const AuditEntry = Type.Object({
  id: Uuid,
  actorUserId: Nullable(Type.String({ format: 'uuid' })),
  action: Type.Union([
    Type.Literal('insert'),
    Type.Literal('update'),
    Type.Literal('delete'),
    Type.Literal('import'),
  ]),
  entity: Type.String({ description: 'schema.table, e.g. crm.people' }),
  entityId: Type.String({ format: 'uuid', description: 'the row (the import for action=import)' }),
  changedFields: Type.Array(Type.String(), { description: 'column names only, never values' }),
  importId: Nullable(Type.String({ format: 'uuid' })),
  at: Type.String({ format: 'date-time' }),
});

named({ AuditEntry });

/**
 * The audit trail (iam.audit_log, written by triggers): who changed which CRM, campaign, mailbox,
 * membership or privacy row, and which fields — names only. Newest first.
 */
const audit: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '',
    {
      config: MANAGE,
      schema: {
        tags: ['privacy'],
        summary:
          'Audit trail of the organisation (newest first; filters entity, entityId, actorUserId) — admin only',
        querystring: Type.Object({
          ...PageQuery,
          entity: Type.Optional(Type.String({ pattern: '^[a-z_]+\\.[a-z_]+$', maxLength: 100 })),
          entityId: Type.Optional(Uuid),
          actorUserId: Type.Optional(Uuid),
        }),
        response: { 200: Page(AuditEntry) },
      },
    },
    async (request) => await auditRepository(fastify.db).list<Static<typeof AuditEntry>>(request.query),
  );
};

export default audit;
