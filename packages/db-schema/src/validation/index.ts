import { type CatalogTable, readCatalog } from '../catalog.js';
import { withClient } from '../client.js';
import { ROLES, roleUrl } from '../roles.js';
import { citusCheck } from './citus.js';
import { isolationChecks } from './isolation.js';
import { migrationChecks } from './migration-checks.js';
import { privilegeChecks } from './privileges.js';
import { structureChecks } from './structure.js';
import type { Check, ValidationContext } from './types.js';

// `@prospectflow/db-schema/validation`: the checks `db:validate` runs, and the catalogue reader
// they (and the ERD) are built on.
export { type CatalogTable, isTenantTable, readCatalog } from '../catalog.js';
export { renderErd } from '../erd.js';
export { citusProblems } from './citus.js';
export { REQUIRED_TABLES } from './structure.js';
export type { Check, ValidationContext } from './types.js';

/** Every named check, in the order `db:validate` prints them. */
export const CHECKS: readonly Check[] = [
  ...structureChecks,
  ...privilegeChecks,
  citusCheck,
  ...isolationChecks,
  ...migrationChecks,
];

export interface CheckResult {
  name: string;
  description: string;
  ok: boolean;
  detail?: string;
  ms: number;
}

export interface ValidationOptions {
  migrationsDir?: string;
  /** Run only these checks (by name). */
  only?: string[];
  env?: NodeJS.ProcessEnv;
}

/** A context for a database reached by the migrator URL; runtime checks use roleUrl(url, app). */
export function validationContext(migratorUrl: string, options: ValidationOptions = {}): ValidationContext {
  let catalog: Promise<CatalogTable[]> | undefined;
  return {
    migratorUrl,
    appUrl: roleUrl(migratorUrl, ROLES.app, options.env),
    backupUrl: roleUrl(migratorUrl, ROLES.backup, options.env),
    migrationsDir: options.migrationsDir,
    catalog() {
      catalog ??= withClient(migratorUrl, readCatalog);
      return catalog;
    },
  };
}

/**
 * Runs the checks against a live database. Safe on production data: data-changing checks run as
 * prospectflow_app in transactions that are rolled back; undo + migrate runs in one rolled-back
 * transaction (it briefly locks the last migration's tables).
 */
export async function runValidation(
  migratorUrl: string,
  options: ValidationOptions = {},
): Promise<CheckResult[]> {
  const context = validationContext(migratorUrl, options);
  const checks = options.only ? CHECKS.filter((c) => options.only!.includes(c.name)) : CHECKS;
  const results: CheckResult[] = [];
  for (const check of checks) {
    const started = performance.now();
    try {
      const detail = await check.run(context);
      results.push({
        name: check.name,
        description: check.description,
        ok: true,
        detail,
        ms: performance.now() - started,
      });
    } catch (error) {
      results.push({
        name: check.name,
        description: check.description,
        ok: false,
        detail: (error as Error).message,
        ms: performance.now() - started,
      });
    }
  }
  return results;
}
