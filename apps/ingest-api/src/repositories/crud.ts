import type { ErrorCodeWithStatus, ResourceErrorCode } from '@prospectflow/contracts';
import type { TenantClient } from '@prospectflow/tenant-context';
import { isPgError } from '../lib/db-errors.js';
import { decodeCursor, pageOf } from '../lib/pagination.js';
import { conflict, notFound, ProblemError } from '../lib/problem.js';
import type { Database } from '../plugins/app/db.js';
import { PROVENANCE_SELECT } from '../privacy/provenance.js';

/**
 * A tenant table exposed as a REST resource: API field names map to columns, unique keys map to
 * 409 codes, foreign keys to 422 codes, list filters to SQL conditions. Every statement runs
 * through `db.tenant` (RLS applies, another organisation's row is simply not found).
 */
export interface CrudSpec<F extends object = Record<string, unknown>> {
  table: string;
  label: string;
  /** The 404 code of a missing row: one of contracts' RESOURCE_ERRORS (also named in the API document). */
  notFoundCode: ResourceErrorCode;
  /** API field → column (or a SELECT expression for reads when `select` is given). */
  fields: Record<string, { column: string; select?: string; write?: boolean }>;
  /** Unique constraints (by name) → the API field that carries the value and the 409 code. */
  uniques: Record<string, { field: string; code: ErrorCodeWithStatus<409> }>;
  /** Foreign keys (by name) → the API field and the 422 code. */
  references?: Record<string, { field: string; code: ErrorCodeWithStatus<422> }>;
  /**
   * CHECK constraints (by name) → the 422 the route answers for the same rule on create (a PATCH
   * can break one only with the stored row, which the route does not read).
   */
  checks?: Record<string, { field: string; code: ErrorCodeWithStatus<422>; message: string }>;
  /** List filters: query parameter → the condition(s) it adds (absent values add none). */
  filters: { [K in keyof F]-?: (value: NonNullable<F[K]>, where: Conditions) => void };
  /** The table has provenance columns (migration 0870): rows carry `provenance`. */
  provenance?: boolean;
  /**
   * A rule across fields a PATCH may change one at a time (SIREN and SIRET), checked on the row as
   * written, inside the write's transaction: it throws a problem and the write is undone.
   * `written` names the fields the request set, so a rule need not judge a write that left its
   * fields alone.
   */
  check?: (row: Record<string, unknown>, written: ReadonlySet<string>) => void;
}

export type Row = Record<string, unknown> & { id: string };

export interface ListQuery<F extends object = Record<string, unknown>> {
  limit: number;
  cursor?: string | undefined;
  filters?: Partial<F>;
}

/**
 * The repository of one CRM table. `T` is the API shape (the route's response schema); rows are
 * aliased to it in SQL. `F` is the list filters' shape (the route's query string).
 */
export class CrudRepository<T extends { id: string } = Row, F extends object = Record<string, unknown>> {
  readonly selectList: string;

  constructor(
    readonly spec: CrudSpec<F>,
    private readonly db: Database,
  ) {
    this.selectList = [
      'id',
      ...Object.entries(spec.fields).map(([name, f]) => `${f.select ?? f.column} AS "${name}"`),
      'created_at AS "createdAt"',
      'updated_at AS "updatedAt"',
      ...(spec.provenance ? [`${PROVENANCE_SELECT} AS "provenance"`] : []),
    ].join(', ');
  }

  private columnsOf(values: Record<string, unknown>): { columns: string[]; params: unknown[] } {
    const columns: string[] = [];
    const params: unknown[] = [];
    for (const [name, value] of Object.entries(values)) {
      const field = this.spec.fields[name];
      if (!field || field.write === false || value === undefined) continue;
      columns.push(field.column);
      params.push(value);
    }
    return { columns, params };
  }

  /**
   * Runs `write` in a savepoint so a unique or FK violation can be answered precisely
   * (409 with the existing row's id, 422 naming the missing reference) in the same transaction.
   */
  private async guarded<T>(client: TenantClient, values: Record<string, unknown>, write: () => Promise<T>) {
    try {
      return await this.db.tenant(write);
    } catch (error) {
      if (!isPgError(error) || !error.constraint) throw error;
      const unique = this.spec.uniques[error.constraint];
      if (error.code === '23505' && unique) {
        const column = this.spec.fields[unique.field]!.column;
        const { rows } = await client.query<{ id: string }>(
          `SELECT id FROM ${this.spec.table} WHERE ${column} = $1 LIMIT 1`,
          [values[unique.field]],
        );
        throw conflict(
          unique.code,
          `Another ${this.spec.label.toLowerCase()} already has this ${unique.field}.`,
          rows[0]?.id,
        );
      }
      const reference = this.spec.references?.[error.constraint];
      if (error.code === '23503' && reference) {
        throw new ProblemError(422, reference.code, `${reference.field} does not name an existing record.`, {
          extensions: {
            errors: [{ path: `/${reference.field}`, code: reference.code, message: 'not found' }],
          },
        });
      }
      const check = this.spec.checks?.[error.constraint];
      if (error.code === '23514' && check) {
        throw new ProblemError(422, check.code, check.message, {
          extensions: { errors: [{ path: `/${check.field}`, code: check.code, message: check.message }] },
        });
      }
      throw error;
    }
  }

  async create(values: Record<string, unknown>): Promise<T> {
    const { columns, params } = this.columnsOf(values);
    const placeholders = params.map((_, i) => `$${i + 1}`);
    return await this.db.tenant((client) =>
      this.guarded(client, values, async () => {
        const { rows } = await client.query<T>(
          `INSERT INTO ${this.spec.table} (${columns.join(', ')}) VALUES (${placeholders.join(', ')})
           RETURNING ${this.selectList}`,
          params,
        );
        this.spec.check?.(rows[0]!, new Set(Object.keys(values)));
        return rows[0]!;
      }),
    );
  }

  async get(id: string): Promise<T> {
    const row = await this.db.tenant(async (client) => {
      const { rows } = await client.query<T>(
        `SELECT ${this.selectList} FROM ${this.spec.table} WHERE id = $1`,
        [id],
      );
      return rows[0];
    });
    if (!row) throw notFound(this.spec.label, this.spec.notFoundCode);
    return row;
  }

  async update(id: string, values: Record<string, unknown>): Promise<T> {
    const { columns, params } = this.columnsOf(values);
    const row = await this.db.tenant((client) =>
      this.guarded(client, values, async () => {
        const sets = columns.map((column, i) => `${column} = $${i + 2}`);
        const { rows } =
          sets.length === 0
            ? await client.query<T>(`SELECT ${this.selectList} FROM ${this.spec.table} WHERE id = $1`, [id])
            : await client.query<T>(
                `UPDATE ${this.spec.table} SET ${sets.join(', ')} WHERE id = $1 RETURNING ${this.selectList}`,
                [id, ...params],
              );
        if (rows[0]) this.spec.check?.(rows[0], new Set(Object.keys(values)));
        return rows[0];
      }),
    );
    if (!row) throw notFound(this.spec.label, this.spec.notFoundCode);
    return row;
  }

  async delete(id: string): Promise<void> {
    const deleted = await this.db.tenant(async (client) => {
      const { rowCount } = await client.query(`DELETE FROM ${this.spec.table} WHERE id = $1`, [id]);
      return rowCount ?? 0;
    });
    if (deleted === 0) throw notFound(this.spec.label, this.spec.notFoundCode);
  }

  /** The list statement; public for the benchmark's bare baseline (same SQL). */
  listSql(query: ListQuery<F>): { text: string; values: unknown[] } {
    const conditions = new Conditions();
    for (const [name, value] of Object.entries(query.filters ?? {})) {
      const filter = this.spec.filters[name as keyof F];
      if (value !== undefined && value !== null && filter) filter(value as never, conditions);
    }
    const after = decodeCursor(query.cursor);
    const where = [...conditions.where];
    const values = [...conditions.values];
    if (after) {
      values.push(after);
      where.push(`id > $${values.length}`);
    }
    values.push(query.limit + 1);
    return {
      text: `SELECT ${this.selectList} FROM ${this.spec.table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
             ORDER BY id LIMIT $${values.length}`,
      values,
    };
  }

  async list(query: ListQuery<F>): Promise<{ items: T[]; nextCursor: string | null }> {
    const { text, values } = this.listSql(query);
    const rows = await this.db.tenant(async (client) => (await client.query<T>(text, values)).rows);
    return pageOf(rows, query.limit);
  }
}

/** Builds WHERE conditions with consecutive placeholders. */
export class Conditions {
  readonly where: string[] = [];
  readonly values: unknown[] = [];

  add(sql: (placeholder: string) => string, value: unknown): this {
    this.values.push(value);
    this.where.push(sql(`$${this.values.length}`));
    return this;
  }

  /** A condition that matches nothing (a filter value that can never match). */
  none(): this {
    this.where.push('false');
    return this;
  }
}
