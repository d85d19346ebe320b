import type { DiscoveredTable } from './discover.js';

/** What a source table becomes. `contacts` rows become a person plus a position at their company. */
export type SqliteTarget = 'companies' | 'contacts' | 'prompts' | 'test_cases';

/** Target fields each target understands (the keys of a table mapping's `columns`). */
export const TARGET_FIELDS: Record<SqliteTarget, Record<string, string[]>> = {
  companies: {
    name: ['name', 'company_name', 'raison_sociale', 'company'],
    siren: ['siren'],
    siret: ['siret'],
    naf_code: ['naf', 'naf_code', 'ape', 'code_naf'],
    website_url: ['website', 'website_url', 'url', 'site', 'site_web'],
    domain: ['domain', 'domaine'],
    phone: ['phone', 'telephone', 'tel'],
    city: ['city', 'ville'],
    postal_code: ['postal_code', 'zip', 'code_postal', 'cp'],
    country_code: ['country', 'country_code', 'pays'],
    employee_count: ['employee_count', 'employees', 'effectif'],
    industry: ['industry', 'sector', 'secteur'],
    description: ['description', 'notes'],
    custom: ['metadata', 'custom', 'extra', 'data'],
    created_at: ['created_at', 'created', 'date_created'],
  },
  contacts: {
    company_key: ['company_id', 'company', 'companyid', 'entreprise_id'],
    first_name: ['first_name', 'firstname', 'prenom'],
    last_name: ['last_name', 'lastname', 'nom', 'name'],
    email: ['email', 'mail', 'e_mail'],
    title: ['title', 'job_title', 'position', 'poste', 'fonction'],
    phone: ['phone', 'mobile', 'telephone'],
    linkedin_url: ['linkedin', 'linkedin_url'],
    is_active: ['is_active', 'active', 'current'],
    custom: ['metadata', 'custom', 'extra', 'data'],
    created_at: ['created_at', 'created', 'date_created'],
  },
  prompts: {
    name: ['name', 'title', 'prompt_name'],
    content: ['content', 'template', 'prompt', 'prompt_text', 'text', 'body'],
    version: ['version'],
    model: ['model', 'model_name'],
    is_active: ['is_active', 'active', 'enabled'],
    purpose: ['purpose', 'category', 'type'],
    metadata: ['metadata', 'meta', 'config', 'parameters'],
    description: ['description'],
    created_at: ['created_at', 'created'],
  },
  test_cases: {
    prompt_key: ['prompt_id', 'prompt', 'promptid'],
    name: ['name', 'title'],
    input: ['input', 'input_data', 'inputs', 'variables'],
    expected: ['expected', 'expected_output', 'expected_result', 'output'],
    created_at: ['created_at', 'created'],
  },
};

export interface TableMapping {
  target: SqliteTarget;
  /** Source column whose value identifies the row across runs (default: the primary key). */
  key: string;
  /** Target field → source column. */
  columns: Record<string, string>;
}

export interface SqliteMapping {
  /** Name under which source keys are remembered (crm.import_source_keys.source). */
  source?: string;
  preset?: string;
  tables: Record<string, TableMapping>;
}

const TABLE_TARGETS: Record<SqliteTarget, string[]> = {
  companies: ['companies', 'company', 'entreprises', 'accounts', 'organizations', 'organisations'],
  contacts: ['contacts', 'contact', 'prospects', 'people', 'persons', 'leads'],
  prompts: ['prompts', 'prompt'],
  test_cases: ['test_cases', 'testcases', 'prompt_tests'],
};

function tableMapping(table: DiscoveredTable, target: SqliteTarget): TableMapping {
  const names = new Map(table.columns.map((c) => [c.name.toLowerCase(), c.name]));
  const columns: Record<string, string> = {};
  for (const [field, candidates] of Object.entries(TARGET_FIELDS[target])) {
    const found = candidates.map((c) => names.get(c)).find(Boolean);
    if (found && !Object.values(columns).includes(found)) columns[field] = found;
  }
  const key = table.columns.find((c) => c.primaryKey)?.name ?? names.get('id') ?? 'rowid';
  return { target, key, columns };
}

/**
 * Proposes a mapping from what was discovered: the legacy prospects preset (companies, contacts)
 * and the prompts preset (prompts, test_cases → outreach.prompts) by table and column names.
 */
export function proposeMapping(tables: DiscoveredTable[]): SqliteMapping {
  const mapping: SqliteMapping = { tables: {} };
  for (const table of tables) {
    const lower = table.name.toLowerCase();
    const target = (Object.keys(TABLE_TARGETS) as SqliteTarget[]).find((t) =>
      TABLE_TARGETS[t].includes(lower),
    );
    if (target) mapping.tables[table.name] = tableMapping(table, target);
  }
  const targets = Object.values(mapping.tables).map((t) => t.target);
  mapping.preset = targets.includes('prompts')
    ? 'legacy-prompts'
    : targets.includes('companies') || targets.includes('contacts')
      ? 'legacy-prospects'
      : 'custom';
  return mapping;
}

/** Load order: referenced tables first. */
export const TARGET_ORDER: SqliteTarget[] = ['companies', 'contacts', 'prompts', 'test_cases'];

/**
 * Checks a mapping file against the tables discovered. The file may be what `--propose` printed
 * (`{"discovered", "proposedMapping"}`, edited or not): its `proposedMapping` is the mapping.
 */
export function validateMapping(value: unknown, tables: DiscoveredTable[]): SqliteMapping {
  const problems: string[] = [];
  const proposal = value as { proposedMapping?: unknown } | null;
  const mapping = (
    proposal && typeof proposal === 'object' && 'proposedMapping' in proposal
      ? proposal.proposedMapping
      : value
  ) as SqliteMapping;
  if (!mapping || typeof mapping !== 'object' || !mapping.tables || typeof mapping.tables !== 'object') {
    throw new Error('The mapping file must be {"tables": {"<source table>": {"target", "key", "columns"}}}');
  }
  for (const [name, table] of Object.entries(mapping.tables)) {
    if (!table || typeof table !== 'object') {
      problems.push(`table "${name}": must be {"target", "key", "columns"}`);
      continue;
    }
    const source = tables.find((t) => t.name === name);
    if (!source) problems.push(`table "${name}" is not in the SQLite file`);
    if (!TARGET_FIELDS[table.target]) problems.push(`table "${name}": unknown target "${table.target}"`);
    const columns = new Set(source?.columns.map((c) => c.name) ?? []);
    columns.add('rowid');
    if (!columns.has(table.key)) problems.push(`table "${name}": key column "${table.key}" does not exist`);
    for (const [field, column] of Object.entries(table.columns ?? {})) {
      if (TARGET_FIELDS[table.target] && !(field in TARGET_FIELDS[table.target])) {
        problems.push(`table "${name}": unknown field "${field}" for target ${table.target}`);
      }
      if (!columns.has(column)) problems.push(`table "${name}": column "${column}" does not exist`);
    }
  }
  if (problems.length > 0) throw new Error(`Invalid mapping:\n  - ${problems.join('\n  - ')}`);
  return mapping;
}
