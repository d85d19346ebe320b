import type pg from 'pg';

/** The application schemas (docs/CONTRACTS.md). `app` holds functions only. */
export const APP_SCHEMAS = ['iam', 'crm', 'outreach', 'tracking', 'legacy'] as const;
/** Tables without RLS because they are global (no organisation_id). */
export const GLOBAL_TABLES = ['iam.organisations', 'iam.users'] as const;

export interface CatalogColumn {
  name: string;
  /** format_type(), e.g. "uuid", "timestamp with time zone", "character varying(20)", "text[]". */
  type: string;
  /** Element type name for arrays, the type name otherwise (pg_type.typname, e.g. "int2", "citext"). */
  baseType: string;
  isArray: boolean;
  nullable: boolean;
  default: string | null;
  position: number;
}

export interface CatalogConstraint {
  name: string;
  columns: string[];
  definition: string;
}

export interface CatalogForeignKey extends CatalogConstraint {
  references: { table: string; columns: string[] };
  onDelete: 'CASCADE' | 'RESTRICT' | 'SET NULL' | 'SET DEFAULT' | 'NO ACTION';
  onUpdate: 'CASCADE' | 'RESTRICT' | 'SET NULL' | 'SET DEFAULT' | 'NO ACTION';
}

export interface CatalogIndex {
  name: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
  partial: boolean;
  definition: string;
}

export interface CatalogPolicy {
  name: string;
  command: string;
  permissive: boolean;
  roles: string[];
  using: string | null;
  withCheck: string | null;
}

export interface CatalogTable {
  /** schema.table */
  name: string;
  schema: string;
  table: string;
  columns: CatalogColumn[];
  primaryKey: CatalogConstraint | null;
  uniques: CatalogConstraint[];
  foreignKeys: CatalogForeignKey[];
  checks: CatalogConstraint[];
  indexes: CatalogIndex[];
  rls: { enabled: boolean; forced: boolean };
  policies: CatalogPolicy[];
  owner: string;
  comment: string | null;
}

const ACTIONS: Record<string, CatalogForeignKey['onDelete']> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

/** Reads tables, columns, keys, indexes and RLS of the application schemas from pg_catalog. */
export async function readCatalog(
  client: pg.ClientBase,
  schemas: readonly string[] = APP_SCHEMAS,
): Promise<CatalogTable[]> {
  const { rows: tables } = await client.query<{
    oid: number;
    schema: string;
    table: string;
    enabled: boolean;
    forced: boolean;
    owner: string;
    comment: string | null;
  }>(
    `SELECT c.oid, n.nspname AS schema, c.relname AS table, c.relrowsecurity AS enabled,
            c.relforcerowsecurity AS forced, pg_get_userbyid(c.relowner) AS owner,
            obj_description(c.oid, 'pg_class') AS comment
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) AND NOT c.relispartition
      ORDER BY n.nspname, c.relname`,
    [schemas],
  );
  const oids = tables.map((t) => t.oid);
  // Each query answers the public shape (CatalogColumn, CatalogIndex, CatalogPolicy) plus the key
  // of the table it belongs to, so the fields are listed once, in the interfaces above.
  const { rows: columns } = await client.query<CatalogColumn & { oid: number }>(
    `SELECT a.attrelid AS oid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            COALESCE(et.typname, t.typname) AS "baseType", et.oid IS NOT NULL AS "isArray",
            NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default,
            -- ordinal among live columns: a column dropped and added again (undo + migrate) keeps its place
            row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum)::int AS position
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  const { rows: constraints } = await client.query<{
    oid: number;
    name: string;
    type: string;
    columns: string[];
    definition: string;
    ref_table: string | null;
    ref_columns: string[] | null;
    on_delete: string;
    on_update: string;
  }>(
    `SELECT c.conrelid AS oid, c.conname AS name, c.contype AS type,
            ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS columns,
            pg_get_constraintdef(c.oid) AS definition,
            CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text END AS ref_table,
            CASE WHEN c.contype = 'f' THEN ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)::text[] END AS ref_columns,
            c.confdeltype AS on_delete, c.confupdtype AS on_update
       FROM pg_constraint c
      WHERE c.conrelid = ANY($1) AND c.contype IN ('p', 'u', 'f', 'c')
      ORDER BY c.conrelid, c.conname`,
    [oids],
  );
  const { rows: indexes } = await client.query<CatalogIndex & { oid: number }>(
    `SELECT i.indrelid AS oid, ic.relname AS name,
            ARRAY(SELECT pg_get_indexdef(i.indexrelid, k.o::int, true)
                    FROM generate_series(1, i.indnkeyatts) AS k(o) ORDER BY k.o)::text[] AS columns,
            i.indisunique AS unique, i.indisprimary AS primary, i.indpred IS NOT NULL AS partial,
            pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
      WHERE i.indrelid = ANY($1)
      ORDER BY i.indrelid, ic.relname`,
    [oids],
  );
  const { rows: policies } = await client.query<CatalogPolicy & { table: string }>(
    `SELECT schemaname || '.' || tablename AS table, policyname AS name, cmd AS command,
            permissive = 'PERMISSIVE' AS permissive, roles::text[] AS roles, qual AS "using",
            with_check AS "withCheck"
       FROM pg_policies WHERE schemaname = ANY($1) ORDER BY schemaname, tablename, policyname`,
    [schemas],
  );

  return tables.map((t) => {
    const name = `${t.schema}.${t.table}`;
    const own = constraints.filter((c) => c.oid === t.oid);
    const constraint = (c: (typeof own)[number]): CatalogConstraint => ({
      name: c.name,
      columns: c.columns,
      definition: c.definition,
    });
    const pk = own.find((c) => c.type === 'p');
    return {
      name,
      schema: t.schema,
      table: t.table,
      owner: t.owner,
      comment: t.comment,
      rls: { enabled: t.enabled, forced: t.forced },
      columns: columns.filter((c) => c.oid === t.oid).map(({ oid: _, ...column }) => column),
      primaryKey: pk ? constraint(pk) : null,
      uniques: own.filter((c) => c.type === 'u').map(constraint),
      checks: own.filter((c) => c.type === 'c').map(constraint),
      foreignKeys: own
        .filter((c) => c.type === 'f')
        .map((c) => ({
          ...constraint(c),
          references: { table: c.ref_table!, columns: c.ref_columns! },
          onDelete: ACTIONS[c.on_delete]!,
          onUpdate: ACTIONS[c.on_update]!,
        })),
      indexes: indexes.filter((i) => i.oid === t.oid).map(({ oid: _, ...index }) => index),
      policies: policies.filter((p) => p.table === name).map(({ table: _, ...policy }) => policy),
    };
  });
}

/** A tenant table is any application table with an organisation_id column. */
export function isTenantTable(table: CatalogTable): boolean {
  return table.columns.some((c) => c.name === 'organisation_id');
}
