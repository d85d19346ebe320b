import type { DiscoveredTable, SourceObject } from './discover.js';
import type { SqliteMapping, SqliteTarget } from './presets.js';
import type { StorePreset } from './stores.js';

export type Fate = 'mapped' | 'archived' | 'rejected';

export interface ColumnFate {
  name: string;
  declaredType: string;
  primaryKey: boolean;
  fate: Fate;
  /** Where a mapped column's value goes (besides the archive). */
  mappedTo?: string;
  /** True when the whole value is kept in legacy.archive_rows. */
  archived: boolean;
  reason?: string;
}

export interface TableFate {
  fate: Fate;
  reason: string;
  columns: ColumnFate[];
}

/** Where each target field lands (contacts become a person plus a position). */
function fieldTarget(target: SqliteTarget, field: string): string {
  if (target === 'companies') return `crm.companies.${field}`;
  if (target === 'contacts') {
    if (field === 'company_key') return 'crm.positions.company_id (reference to an imported company)';
    return ['first_name', 'last_name', 'linkedin_url', 'custom'].includes(field)
      ? `crm.people.${field}`
      : field === 'is_active'
        ? 'crm.positions.status'
        : `crm.positions.${field}`;
  }
  if (target === 'prompts') return `outreach.prompts.${field}`;
  if (field === 'prompt_key') return 'outreach.prompts (the prompt the case belongs to)';
  return `outreach.prompts.test_cases[].${field}`;
}

const INTERNAL_REASON: Record<string, string> = {
  sqlite_sequence: 'SQLite bookkeeping (AUTOINCREMENT counters), not data: the archived rows keep their ids',
};

/** What becomes of one source object and each of its columns. */
export function tableFate(
  object: SourceObject,
  table: DiscoveredTable | undefined,
  mapping: SqliteMapping,
  store: StorePreset | undefined,
): TableFate {
  const columns = table?.columns ?? [];
  if (object.kind !== 'table') {
    const reason =
      object.kind === 'view'
        ? `a view: a stored query over the archived tables, not data of its own (definition: ${object.sql ?? '?'})`
        : (INTERNAL_REASON[object.name] ?? 'SQLite query-planner statistics, not data');
    return {
      fate: 'rejected',
      reason,
      columns: columns.map((c) => ({ ...pick(c), fate: 'rejected', archived: false, reason })),
    };
  }
  const spec = mapping.tables[object.name];
  const preset = store?.tables[object.name.toLowerCase()];
  if (!spec) {
    return {
      fate: 'archived',
      reason: preset?.why ?? 'no preset maps this table: every row is archived as it was',
      columns: columns.map((c) => ({ ...pick(c), fate: 'archived', archived: true })),
    };
  }
  const fieldOf = new Map(Object.entries(spec.columns).map(([field, column]) => [column, field]));
  return {
    fate: 'mapped',
    reason:
      preset?.why ??
      `mapped by the ${mapping.preset ?? 'given'} mapping to ${spec.target}; every row is archived too`,
    columns: columns.map((c) => {
      const field = fieldOf.get(c.name);
      return field
        ? { ...pick(c), fate: 'mapped', mappedTo: fieldTarget(spec.target, field), archived: true }
        : {
            ...pick(c),
            fate: 'archived',
            archived: true,
            ...(c.name === spec.key ? { reason: 'source key' } : {}),
          };
    }),
  };
}

const pick = (c: DiscoveredTable['columns'][number]) => ({
  name: c.name,
  declaredType: c.declaredType,
  primaryKey: c.primaryKey,
});
