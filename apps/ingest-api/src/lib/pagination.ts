import { badRequest } from './problem.js';

/**
 * Keyset pagination on the primary key: pages are stable under concurrent inserts and every page
 * is an index range scan on (organisation_id, id). The cursor is opaque to clients.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(lastId: string): string {
  return Buffer.from(`id:${lastId}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = decoded.startsWith('id:') ? decoded.slice(3) : '';
  if (!UUID.test(id)) throw badRequest('invalid_cursor', 'The cursor is not one this API returned.');
  return id;
}

/** Rows fetched with LIMIT n+1: the page, and the cursor of the next one when there is more. */
export function pageOf<T extends { id: string }>(
  rows: T[],
  limit: number,
): { items: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(items[items.length - 1]!.id) };
}

/** `%`, `_` and `\` taken literally inside ILIKE patterns. */
export function likeContains(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
