/**
 * The three legacy stores of seed 004 and what each of their tables becomes. A table is typed
 * (first-class) only when the product reads it; everything else is kept whole in the archive
 * (legacy.archive_rows). README "Presets" explains each decision.
 */
export interface StoreTable {
  fate: 'mapped' | 'archived';
  why: string;
}

export interface StorePreset {
  name: 'analysis' | 'prompts' | 'governance';
  /** Where seed 004 says the store lived. */
  seedPath: string;
  tables: Record<string, StoreTable>;
}

const ARCHIVE_ANALYSIS =
  'workflow analysis output of the DADM services: no ProspectFlow feature reads it, its shape is free JSON; kept for audit/export';

export const STORES: readonly StorePreset[] = [
  {
    name: 'analysis',
    seedPath: 'data/analysis_storage/analysis_data.db',
    tables: {
      analysis_metadata: { fate: 'archived', why: ARCHIVE_ANALYSIS },
      analysis_data: { fate: 'archived', why: ARCHIVE_ANALYSIS },
      processing_tasks: {
        fate: 'archived',
        why: 'finished job records of the old processing queue: outreach.tasks only holds live work; history is kept for audit',
      },
    },
  },
  {
    name: 'prompts',
    seedPath: 'data/prompts.db',
    tables: {
      prompts: {
        fate: 'mapped',
        why: 'first-class: outreach.prompts (used by campaigns) — the typed copy; the row is archived too',
      },
      test_cases: {
        fate: 'mapped',
        why: 'first-class: stored on their prompt (outreach.prompts.test_cases) — the typed copy; the row is archived too',
      },
      test_results: {
        fate: 'archived',
        why: 'results of past prompt evaluations: read-only history no feature uses; archived',
      },
    },
  },
  {
    name: 'governance',
    seedPath: 'data/governance/governance.db',
    tables: {
      data_policies: {
        fate: 'archived',
        why: 'policies of the old platform; ProspectFlow enforces its own (iam.privacy_settings, RLS): kept as evidence',
      },
      data_lineage: {
        fate: 'archived',
        why: 'lineage of the old pipelines; ProspectFlow records provenance on each record (created_source/import): kept as evidence',
      },
      quality_metrics: {
        fate: 'archived',
        why: 'historical measurements, no feature reads them: kept as evidence',
      },
    },
  },
];

/** The store whose tables the file holds (at least two of its three), if any. */
export function detectStore(tableNames: readonly string[]): StorePreset | undefined {
  const names = new Set(tableNames.map((n) => n.toLowerCase()));
  return STORES.find((s) => Object.keys(s.tables).filter((t) => names.has(t)).length >= 2);
}
