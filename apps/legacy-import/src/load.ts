import * as rules from '@prospectflow/field-rules';
import { type TenantClient, withTenantClient } from '@prospectflow/tenant-context';
import type Database from 'better-sqlite3';
import type { Pool } from 'pg';
import { toText, toUuid } from './convert.js';
import { quoteSqliteName, rowidAccess } from './discover.js';
import type { ErasedCheck } from './erased.js';
import { Fields, type Row, Skip, skip } from './fields.js';
import { type SqliteMapping, type SqliteTarget, TARGET_ORDER, type TableMapping } from './presets.js';

export interface TableSummary {
  table: string;
  target: SqliteTarget;
  read: number;
  inserted: number;
  updated: number;
  skipped: number;
  /** reason → rows */
  skippedReasons: Record<string, number>;
  /** Time spent on the table (ms). */
  ms: number;
}

export const TARGET_TABLE: Record<SqliteTarget, string> = {
  companies: 'crm.companies',
  contacts: 'crm.positions',
  prompts: 'outreach.prompts',
  test_cases: 'outreach.prompts',
};
const PURPOSES = new Set(['email_body', 'email_subject', 'personalisation', 'reply_classification', 'other']);

export interface LoadOptions {
  source: string;
  /** Addresses on the hashed suppression list are never imported again (Art. 17). */
  erased?: ErasedCheck | null;
  onRow?: () => void;
}

/**
 * Loads every mapped table in dependency order, as one tenant unit of work on `pool` (a savepoint
 * of the caller's transaction when one is open, so the whole import stays all-or-nothing). Rows
 * already imported under the same source keys are updated, not duplicated; a row the database
 * refuses is skipped with the constraint as its reason: each row is a nested unit (a savepoint).
 */
export async function loadSqlite(
  db: Database.Database,
  pool: Pool,
  mapping: SqliteMapping,
  options: LoadOptions,
): Promise<TableSummary[]> {
  return await withTenantClient(pool, (client) => loadTables(db, pool, client, mapping, options));
}

async function loadTables(
  db: Database.Database,
  pool: Pool,
  client: TenantClient,
  mapping: SqliteMapping,
  options: LoadOptions,
): Promise<TableSummary[]> {
  const keys = new Map<string, string>();
  const { rows: known } = await client.query<{ source_table: string; source_key: string; target_id: string }>(
    'SELECT source_table, source_key, target_id FROM crm.import_source_keys WHERE source = $1',
    [options.source],
  );
  for (const k of known) keys.set(`${k.source_table}\u0000${k.source_key}`, k.target_id);
  const tablesOf = (target: SqliteTarget) =>
    Object.entries(mapping.tables).filter(([, t]) => t.target === target);
  const remember = async (
    rowClient: TenantClient,
    table: string,
    key: string,
    target: SqliteTarget,
    id: string,
  ) => {
    await rowClient.query(
      `INSERT INTO crm.import_source_keys (source, source_table, source_key, target_table, target_id)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (organisation_id, source, source_table, source_key) DO UPDATE SET target_id = EXCLUDED.target_id`,
      [options.source, table, key, TARGET_TABLE[target], id],
    );
  };
  const lookup = (tables: Array<[string, TableMapping]>, key: unknown): string | undefined => {
    const text = toText(key);
    if (text === null) return undefined;
    for (const [name] of tables) {
      const id = keys.get(`${name}\u0000${text}`);
      if (id) return id;
    }
    return undefined;
  };

  const testCases = new Map<string, unknown[]>();
  const summaries: TableSummary[] = [];
  for (const target of TARGET_ORDER) {
    for (const [table, spec] of tablesOf(target)) {
      const summary: TableSummary = {
        table,
        target,
        read: 0,
        inserted: 0,
        updated: 0,
        skipped: 0,
        skippedReasons: {},
        ms: 0,
      };
      const started = performance.now();
      summaries.push(summary);
      // The rowid under an alias no column hides (a column may be named rowid, or __rowid).
      const columns = (
        db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Array<{ name: string }>
      ).map((c) => c.name);
      const { rowid, alias } = rowidAccess(db, table, columns);
      const keyColumn = columns.find((c) => c === spec.key);
      const statement = db.prepare(
        rowid
          ? `SELECT ${rowid} AS ${quoteSqliteName(alias)}, * FROM ${quoteSqliteName(table)}`
          : `SELECT * FROM ${quoteSqliteName(table)}`,
      );
      for (const row of statement.iterate() as Iterable<Row>) {
        summary.read++;
        options.onRow?.();
        // Key "rowid" is the table's rowid unless a column has that name (then it is the column).
        const key = toText(
          keyColumn !== undefined ? row[keyColumn] : spec.key === 'rowid' ? row[alias] : undefined,
        );
        const f = new Fields(row, spec.columns);
        try {
          // A nested unit is a savepoint: a refused row is undone alone.
          const result = await withTenantClient(pool, async (rowClient) => {
            if (key === null) skip('missing_key');
            const existing = keys.get(`${table}\u0000${key}`);
            let loaded: { id: string; inserted: boolean };
            if (target === 'companies') loaded = await company(rowClient, f, existing, key!);
            else if (target === 'contacts')
              loaded = await contact(
                rowClient,
                f,
                existing,
                lookup(tablesOf('companies'), f.raw('company_key')),
                options.erased,
              );
            else if (target === 'prompts') loaded = await prompt(rowClient, f, existing, key!);
            else {
              const promptId = lookup(tablesOf('prompts'), f.raw('prompt_key')) ?? skip('prompt_not_found');
              const list = testCases.get(promptId) ?? [];
              list.push({
                legacyId: key,
                name: f.text('name'),
                input: f.jsonOrText('input'),
                expected: f.jsonOrText('expected'),
                createdAt: f.timestamp('created_at')?.toISOString() ?? null,
              });
              testCases.set(promptId, list);
              loaded = { id: promptId, inserted: existing === undefined };
            }
            await remember(rowClient, table, key!, target, loaded.id);
            return loaded;
          });
          // Remembered only once the row's savepoint is released.
          keys.set(`${table}\u0000${key}`, result.id);
          if (result.inserted) summary.inserted++;
          else summary.updated++;
        } catch (error) {
          let reason: string;
          if (error instanceof Skip) reason = error.message;
          else if (
            (error as { code?: string }).code?.startsWith('23') ||
            (error as { code?: string }).code === '22P02'
          ) {
            const e = error as { constraint?: string; code: string };
            reason = `rejected_by_database:${e.constraint ?? e.code}`;
          } else throw error;
          summary.skipped++;
          summary.skippedReasons[reason] = (summary.skippedReasons[reason] ?? 0) + 1;
        }
      }
      summary.ms = Math.round(performance.now() - started);
    }
  }
  // Test cases are stored on their prompt as a whole array: re-runs replace it, never append twice.
  for (const [promptId, cases] of testCases) {
    await client.query('UPDATE outreach.prompts SET test_cases = $2::jsonb WHERE id = $1', [
      promptId,
      JSON.stringify(cases),
    ]);
  }
  return summaries;
}

async function upsert(
  client: TenantClient,
  table: string,
  existing: string | undefined,
  values: Record<string, unknown>,
  /** Columns an update sets by an expression of the old row and the new value (`$n`). */
  onUpdate: Record<string, (value: string) => string> = {},
): Promise<{ id: string; inserted: boolean }> {
  const columns = Object.keys(values);
  const params = Object.values(values);
  if (existing) {
    const set = columns.map((c, i) => `${c} = ${onUpdate[c]?.(`$${i + 2}`) ?? `$${i + 2}`}`);
    const { rowCount } = await client.query(`UPDATE ${table} SET ${set.join(', ')} WHERE id = $1`, [
      existing,
      ...params,
    ]);
    if (rowCount === 1) return { id: existing, inserted: false };
  }
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
    params,
  );
  return { id: rows[0]!.id, inserted: true };
}

async function company(client: TenantClient, f: Fields, existing: string | undefined, key: string) {
  const name = f.text('name') ?? skip('missing_name');
  const sirenGiven = f.ruled('siren', rules.siren);
  const siret = f.ruled('siret', rules.siret);
  // Refused like the API and the CSV import refuse it (the database has no CHECK for it).
  if (sirenGiven && siret && !rules.siretMatchesSiren(siret, sirenGiven)) skip('siret_siren_mismatch');
  const siren = sirenGiven ?? (siret ? rules.sirenOfSiret(siret) : null);
  const website = f.ruled('website_url', rules.url);
  const domain = f.ruled('domain', rules.domain) ?? (website ? (rules.hostOf(website) ?? null) : null);
  const createdAt = f.timestamp('created_at');
  const values: Record<string, unknown> = {
    name,
    siren,
    siret,
    naf_code: f.ruled('naf_code', rules.naf),
    website_url: website,
    domain,
    phone: f.ruled('phone', rules.phone),
    city: f.text('city'),
    postal_code: f.text('postal_code'),
    country_code: f.ruled('country_code', rules.country),
    employee_count: f.integer('employee_count'),
    industry: f.text('industry'),
    description: f.text('description'),
    custom: JSON.stringify(f.object('custom')),
    ...(createdAt ? { created_at: createdAt } : {}),
  };
  let target = existing;
  if (!target && siren) {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM crm.companies WHERE siren = $1', [
      siren,
    ]);
    target = rows[0]?.id;
  }
  const legacyId = toUuid(key);
  if (!target && legacyId) values.id = legacyId;
  return await upsert(client, 'crm.companies', target, values);
}

async function contact(
  client: TenantClient,
  f: Fields,
  existing: string | undefined,
  companyId: string | undefined,
  erased: ErasedCheck | null | undefined,
) {
  if (!companyId) skip('company_not_found');
  const email = f.ruled('email', rules.email);
  const firstName = f.text('first_name');
  const lastName = f.text('last_name');
  // The archive's rule (erased.ts): an erased address, or an erased full name on a contact that
  // carries no other address — a contact without an email is not let back in by its name.
  if (erased?.([email, [firstName, lastName].filter(Boolean).join(' ')].filter(Boolean).join('\n')))
    skip('erased_subject');
  if (!firstName && !lastName) skip('missing_name');
  const createdAt = f.timestamp('created_at');
  const active = f.boolean('is_active');
  let positionId = existing;
  if (!positionId && email) {
    const { rows } = await client.query<{ id: string | null }>('SELECT app.position_id_for_email($1) AS id', [
      email,
    ]);
    positionId = rows[0]?.id ?? undefined;
  }
  let personId: string | undefined;
  if (positionId) {
    const { rows } = await client.query<{ person_id: string }>(
      'SELECT person_id FROM crm.positions WHERE id = $1',
      [positionId],
    );
    personId = rows[0]?.person_id;
    if (!personId) positionId = undefined;
  }
  const person = await upsert(
    client,
    'crm.people',
    personId,
    {
      first_name: firstName,
      last_name: lastName,
      linkedin_url: f.ruled('linkedin_url', rules.url),
      custom: JSON.stringify(f.object('custom')),
      // The legacy creation date is when the person was collected (the retention clock; migration
      // 0870 back-filled collected_at = created_at the same way). Without one: collected now.
      ...(createdAt ? { created_at: createdAt, collected_at: createdAt } : {}),
    },
    {
      // On update: a person a consolidation created takes the earliest legacy date (which also
      // corrects the import-time stamp an earlier run gave it); a person the API or a CSV/JSON
      // import created keeps its own collection date (a consolidation is not a new collection).
      collected_at: (v) =>
        `CASE WHEN created_source = 'sqlite' THEN least(collected_at, ${v}::timestamptz) ELSE collected_at END`,
    },
  );
  return await upsert(client, 'crm.positions', positionId, {
    person_id: person.id,
    company_id: companyId,
    email,
    title: f.text('title'),
    phone: f.ruled('phone', rules.phone),
    status: active === false ? 'former' : 'active',
    ...(createdAt ? { created_at: createdAt } : {}),
  });
}

async function prompt(client: TenantClient, f: Fields, existing: string | undefined, key: string) {
  const name = f.text('name') ?? skip('missing_name');
  const content = f.text('content') ?? skip('missing_content');
  const version = f.integer('version') ?? 1;
  const purpose = f.text('purpose')?.toLowerCase();
  const metadata = f.object('metadata');
  const description = f.text('description');
  if (description) metadata.description = description;
  if (purpose && !PURPOSES.has(purpose)) metadata.legacyCategory = purpose;
  const createdAt = f.timestamp('created_at');
  const legacyId = toUuid(key);
  let target = existing;
  if (!target) {
    const { rows } = await client.query<{ id: string }>(
      'SELECT id FROM outreach.prompts WHERE name = $1 AND version = $2',
      [name, version],
    );
    target = rows[0]?.id;
  }
  return await upsert(client, 'outreach.prompts', target, {
    name,
    version,
    content,
    model: f.text('model'),
    is_active: f.boolean('is_active') ?? true,
    purpose: purpose && PURPOSES.has(purpose) ? purpose : 'other',
    metadata: JSON.stringify(metadata),
    ...(createdAt ? { created_at: createdAt } : {}),
    // Keep the legacy UUID as the id when it is one (TEXT → uuid), so references survive.
    ...(target || !legacyId ? {} : { id: legacyId }),
  });
}
