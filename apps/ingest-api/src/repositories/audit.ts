import { decodeCursor, pageOf } from '../lib/pagination.js';
import type { Database } from '../plugins/app/db.js';

export interface AuditQuery {
  limit?: number;
  cursor?: string;
  entity?: string;
  entityId?: string;
  actorUserId?: string;
}

/** The organisation's audit trail (iam.audit_log, written by triggers), newest first. */
export function auditRepository(db: Database) {
  return {
    async list<T extends { id: string }>({ limit = 50, cursor, entity, entityId, actorUserId }: AuditQuery) {
      // Cursor: the last row's id; rows are read in (created_at, id) order from the org index.
      const after = decodeCursor(cursor);
      const rows = await db.tenant(async (client) => {
        const { rows } = await client.query<T>(
          `SELECT a.id, a.actor_user_id AS "actorUserId", a.action, a.table_name AS entity, a.row_id AS "entityId",
                  a.changed_fields AS "changedFields", a.import_id AS "importId", a.created_at AS at
             FROM iam.audit_log a
            WHERE ($1::text IS NULL OR a.table_name = $1) AND ($2::uuid IS NULL OR a.row_id = $2)
              AND ($3::uuid IS NULL OR a.actor_user_id = $3)
              AND ($4::uuid IS NULL OR (a.created_at, a.id) < (SELECT b.created_at, b.id FROM iam.audit_log b WHERE b.id = $4))
            ORDER BY a.created_at DESC, a.id DESC LIMIT $5`,
          [entity ?? null, entityId ?? null, actorUserId ?? null, after ?? null, limit + 1],
        );
        return rows;
      });
      return pageOf(rows, limit);
    },
  };
}
