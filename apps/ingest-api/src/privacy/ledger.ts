import type { TenantClient } from '@prospectflow/tenant-context';
import { decodeCursor, pageOf } from '../lib/pagination.js';

interface PageArgs {
  limit?: number;
  cursor?: string;
}

/** The erasure ledger, newest id order (keyset on id like every list). */
export async function listErasures<T extends { id: string }>(
  client: TenantClient,
  { limit = 50, cursor }: PageArgs,
) {
  const { rows } = await client.query<T>(
    `SELECT id, requested_by AS "requestedBy", request_id AS "requestId", removed, completed_at AS "completedAt"
       FROM iam.erasures WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2`,
    [decodeCursor(cursor) ?? null, limit + 1],
  );
  return pageOf(rows, limit);
}

export async function listErasureRequests<T extends { id: string }>(
  client: TenantClient,
  { limit = 50, cursor, status }: PageArgs & { status?: 'pending' | 'completed' },
) {
  const { rows } = await client.query<T>(
    `SELECT r.id, r.status, r.channel, p.person_id AS "personId", r.received_at AS "receivedAt", r.due_at AS "dueAt",
            r.erasure_id AS "erasureId"
       FROM iam.erasure_requests r LEFT JOIN crm.positions p ON p.id = r.position_id
      WHERE ($1::uuid IS NULL OR r.id > $1) AND ($2::text IS NULL OR r.status = $2)
      ORDER BY r.id LIMIT $3`,
    [decodeCursor(cursor) ?? null, status ?? null, limit + 1],
  );
  return pageOf(rows, limit);
}
