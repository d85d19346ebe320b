/**
 * A PostgreSQL function called from TypeScript, described once: its parameters in order with their
 * SQL types. The call statement, the batched call (one jsonb_to_recordset row per call) and the
 * positional values are all generated from that one list, and test/send-statements.test.ts checks
 * the list against pg_proc — so a migration that changes a signature fails a test instead of
 * silently shifting 19 positional arguments.
 */

/** SQL types the send path passes, spelled as `format_type()` prints them. */
export interface SqlTypes {
  uuid: string;
  text: string;
  'text[]': string[];
  citext: string;
  'timestamp with time zone': Date;
  boolean: boolean;
  integer: number;
  smallint: number;
}
export type SqlType = keyof SqlTypes;

/** One parameter: its name without the `p_` prefix, its type, and whether NULL is allowed. */
export type Param = readonly [name: string, type: SqlType, nullable?: 'nullable'];

/** The TypeScript object of a call's arguments, derived from the parameter list. */
export type ArgsOf<P extends readonly Param[]> = {
  [E in P[number] as E[0]]: E[2] extends 'nullable' ? SqlTypes[E[1]] | null : SqlTypes[E[1]];
};

export interface SqlFunctionSpec<P extends readonly Param[]> {
  /** Schema-qualified name, e.g. app.reserve_outbound_message. */
  name: string;
  params: P;
  /** RETURNS TABLE column names; or `scalar`: the single value, selected under this alias. */
  returns: { table: readonly string[] } | { scalar: string };
  /** Batched form: LEFT JOIN keeps calls whose function returns no row (their result is undefined). */
  join?: 'cross' | 'left';
  /** Batched form: the order rows are handed to the function (lock order): argument names, each optionally followed by ` NULLS FIRST`. */
  orderBy?: readonly string[];
}

export interface SqlFunction<P extends readonly Param[]> extends SqlFunctionSpec<P> {
  /** `SELECT … FROM name($1, …, $n)` (or `SELECT name(…) AS alias`). */
  readonly sql: string;
  /** Every call of `$1` (a jsonb array of argument objects with their index `i`) in one statement; rows carry `batch_index`. */
  readonly batchSql: string;
  /** The positional values of `sql`, in parameter order. */
  values(args: ArgsOf<P>): unknown[];
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function sqlFunction<const P extends readonly Param[]>(spec: SqlFunctionSpec<P>): SqlFunction<P> {
  const names = spec.params.map(([name]) => name);
  const placeholders = names.map((_, i) => `$${i + 1}`).join(', ');
  const columns = spec.params.map(([name, type]) => `${quote(name)} ${type}`).join(', ');
  const call = `${spec.name}(${names.map((n) => `k.${quote(n)}`).join(', ')})`;
  const orderTerm = (term: string) => {
    const [name = '', ...rest] = term.split(' ');
    if (!names.includes(name)) throw new Error(`${spec.name}: ORDER BY ${name} is not a parameter`);
    return [quote(name), ...rest].join(' ');
  };
  const order = spec.orderBy?.length ? ` ORDER BY ${spec.orderBy.map(orderTerm).join(', ')}` : '';
  const rows = `(SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(i int, ${columns})${order}) AS k`;
  const scalar = 'scalar' in spec.returns ? spec.returns.scalar : undefined;
  const sql = scalar
    ? `SELECT ${spec.name}(${placeholders}) AS ${quote(scalar)}`
    : `SELECT * FROM ${spec.name}(${placeholders})`;
  const join = spec.join === 'left' ? 'LEFT JOIN LATERAL' : 'CROSS JOIN LATERAL';
  const batchSql = scalar
    ? `SELECT k.i AS batch_index, ${call} AS ${quote(scalar)} FROM ${rows}`
    : `SELECT k.i AS batch_index, r.* FROM ${rows} ${join} ${call} AS r${spec.join === 'left' ? ' ON true' : ''}`;
  return {
    ...spec,
    sql,
    batchSql,
    values: (args) => names.map((name) => (args as Record<string, unknown>)[name]),
  };
}
