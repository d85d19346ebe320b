import type { QueryResult, QueryResultRow } from 'pg';
import type { Queryable } from '../../src/database.js';
import type { AuthLogger } from '../../src/logger.js';

/** Wraps a real pool and records the SQL it runs (no mocking: every query still hits PostgreSQL). */
export function recordingDb(
  db: Queryable,
): Queryable & { statements: string[]; count(fragment: string): number } {
  const statements: string[] = [];
  return {
    statements,
    count: (fragment) => statements.filter((sql) => sql.includes(fragment)).length,
    query<R extends QueryResultRow = QueryResultRow>(
      text: string,
      values?: unknown[],
    ): Promise<QueryResult<R>> {
      statements.push(text);
      return db.query<R>(text, values);
    },
  };
}

export function recordingLogger(): AuthLogger & {
  lines: Array<{ level: string; message: string | undefined; object: object }>;
} {
  const lines: Array<{ level: string; message: string | undefined; object: object }> = [];
  const at = (level: string) => (object: object, message?: string) => lines.push({ level, message, object });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
