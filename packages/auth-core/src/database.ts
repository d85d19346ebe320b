import type { QueryResult, QueryResultRow } from 'pg';

/** The part of a `pg.Pool` auth-core needs; the app injects its own pool (role prospectflow_app). */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}
