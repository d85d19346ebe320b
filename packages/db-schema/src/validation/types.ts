import type { CatalogTable } from '../catalog.js';

export interface ValidationContext {
  /** Migrator URL (owner): catalogue reads and the in-transaction undo/migrate check. */
  migratorUrl: string;
  /** Runtime URL (prospectflow_app) for isolation checks. */
  appUrl: string;
  /** BYPASSRLS read-only URL, used only to tell whether a table holds rows. */
  backupUrl: string;
  migrationsDir?: string;
  catalog(): Promise<CatalogTable[]>;
}

export interface Check {
  name: string;
  description: string;
  /** Throws (with a message saying what is wrong) on failure; may return a short note. */
  run(context: ValidationContext): Promise<string | undefined>;
}

export class CheckFailure extends Error {}

/** Collects problems and throws them all at once, so one run shows every offending object. */
export function failIfAny(problems: string[]): undefined {
  if (problems.length > 0) throw new CheckFailure(problems.join('\n'));
  return undefined;
}
