import type pg from 'pg';

/**
 * A fingerprint of everything one organisation owns: its iam.organisations row and, for every
 * table with an organisation_id column, the md5 of its rows (as text, sorted). Read as superuser,
 * so RLS does not hide rows.
 */
export async function organisationFingerprint(
  admin: pg.Pool,
  organisationId: string,
): Promise<Record<string, string>> {
  const { rows: tables } = await admin.query<{ name: string }>(
    `SELECT format('%I.%I', c.table_schema, c.table_name) AS name
       FROM information_schema.columns AS c
       JOIN information_schema.tables AS t USING (table_schema, table_name)
      WHERE c.column_name = 'organisation_id' AND t.table_type = 'BASE TABLE'
        AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
      ORDER BY 1`,
  );
  const own = await admin.query<{ row: string }>(
    'SELECT o::text AS row FROM iam.organisations AS o WHERE id = $1',
    [organisationId],
  );
  const fingerprint: Record<string, string> = { 'iam.organisations': own.rows[0]?.row ?? '-' };
  for (const { name } of tables) {
    const { rows } = await admin.query<{ digest: string | null; n: number }>(
      `SELECT md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS digest, count(*)::int AS n
         FROM ${name} AS t WHERE organisation_id = $1`,
      [organisationId],
    );
    fingerprint[name] = `${rows[0]!.n}:${rows[0]!.digest ?? '-'}`;
  }
  return fingerprint;
}
