import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { roleUrl } from '@prospectflow/db-schema';
import {
  type CustomMapping,
  createImport,
  getImport,
  type ImportOutcome,
  prepareCsvFile,
  runImport,
  type Tenant,
} from '@prospectflow/import-engine';
import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
// Valid SIRENs (Luhn check digit appended): the same generator the import benches use.
import { siren } from '../../bench/import-data.js';

export { siren };

export const PHAROW_HEADER = [
  "Nom de l'entreprise",
  'SIREN',
  'Code NAF',
  'Site web',
  'Prénom',
  'Nom',
  'Poste',
  'Email',
  'Téléphone',
  'Ville',
];

export function pharowRow(i: number, overrides: Partial<Record<string, string>> = {}): string[] {
  const values: Record<string, string> = {
    "Nom de l'entreprise": `Société ${i}`,
    SIREN: siren(10_000_000 + i),
    'Code NAF': '6201Z',
    'Site web': `www.societe${i}.fr`,
    Prénom: `Prénom${i}`,
    Nom: `Nom${i}`,
    Poste: 'Directeur',
    Email: `Contact${i}@Societe${i}.FR`,
    Téléphone: `06 12 34 ${String(i % 100).padStart(2, '0')} 78`,
    Ville: 'Lyon',
    ...overrides,
  };
  return PHAROW_HEADER.map((h) => values[h] ?? '');
}

export function toCsv(rows: string[][], delimiter = ';'): string {
  return `${rows
    .map((r) => r.map((c) => (/[";\n,]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(delimiter))
    .join('\n')}\n`;
}

export interface ImportDb {
  db: TestDatabase;
  admin: pg.Pool;
  pool: pg.Pool;
  close(): Promise<void>;
  newOrganisation(): Promise<Tenant>;
  importCsv(
    content: string | Buffer,
    mapping?: CustomMapping,
  ): Promise<{ outcome: ImportOutcome; importId: string }>;
  count(tenant: Tenant, table: string): Promise<number>;
  query<R extends pg.QueryResultRow>(tenant: Tenant, sql: string, values?: unknown[]): Promise<R[]>;
}

/** Resolves once some session of the test database waits on a lock (what `what` is about to do). */
export async function untilOneWaitsOnALock(admin: pg.Pool, what: string): Promise<void> {
  for (let i = 0; ; i += 1) {
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows[0].n > 0) return;
    if (i > 500) throw new Error(`${what}: never waited on a lock`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'pf-import-test-'));

export async function setupImportDb(label: string): Promise<ImportDb & { tenant: Tenant }> {
  const db = await createTestDatabase(label);
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  const pool = new pg.Pool({ connectionString: roleUrl(db.adminUrl, 'app'), max: 6 });
  const newOrganisation = async (): Promise<Tenant> => {
    const id = randomUUID();
    await admin.query('INSERT INTO iam.organisations (id, name, slug) VALUES ($1, $2, $3)', [
      id,
      `Org ${id}`,
      `org-${id}`,
    ]);
    return { organisationId: id };
  };
  const tenant = await newOrganisation();
  const query = async <R extends pg.QueryResultRow>(t: Tenant, sql: string, values: unknown[] = []) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('app.organisation_id', $1, true)`, [t.organisationId]);
      const { rows } = await client.query<R>(sql, values);
      await client.query('COMMIT');
      return rows;
    } finally {
      client.release();
    }
  };
  return {
    db,
    admin,
    pool,
    tenant,
    newOrganisation,
    query,
    async count(t, table) {
      const rows = await query<{ n: number }>(t, `SELECT count(*)::int AS n FROM ${table}`);
      return rows[0]!.n;
    },
    async importCsv(content, mapping = {}) {
      const path = join(dir, `${randomUUID()}.csv`);
      writeFileSync(path, content);
      const prepared = await prepareCsvFile(path, mapping);
      const record = await createImport(pool, tenant, {
        sourceKind: 'csv',
        contentSha256: prepared.scan.sha256,
        mapping: { request: mapping },
      });
      const { createReadStream } = await import('node:fs');
      const outcome = await runImport(pool, {
        importId: record.id,
        tenant,
        mapping,
        source: {
          kind: 'csv',
          open: () => createReadStream(path),
          encoding: prepared.encoding,
          delimiter: prepared.delimiter,
        },
      });
      return { outcome, importId: record.id };
    },
    async close() {
      await pool.end();
      await admin.end();
      await db.drop();
    },
  };
}

export { getImport };
