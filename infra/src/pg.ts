import { withClient } from '@prospectflow/db-schema';

export { withClient, withDatabase } from '@prospectflow/db-schema';

export function withUser(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

export interface TableFingerprint {
  rows: number;
  /** md5 of every row's text form, in a stable order: equal content ⇔ equal checksum. */
  checksum: string;
}

/** Row count and content checksum of every ordinary table outside the system schemas (superuser URL). */
export async function tableFingerprints(adminUrl: string): Promise<Record<string, TableFingerprint>> {
  return withClient(adminUrl, async (client) => {
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1`,
    );
    const result: Record<string, TableFingerprint> = {};
    for (const { name } of tables) {
      const { rows } = await client.query<{ rows: string; checksum: string }>(
        `SELECT count(*) AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS checksum FROM ${name} t`,
      );
      result[name] = { rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum };
    }
    return result;
  });
}
