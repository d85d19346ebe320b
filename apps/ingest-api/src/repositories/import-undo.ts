import { inTenantUnit, type Tenant, type UndoReport, undoImport } from '@prospectflow/import-engine';
import type { Pool } from 'pg';

/**
 * Undo (or its dry run) of one import of the tenant, in one transaction: the engine's ledger
 * (crm.import_changes) says what the import created and updated; undoImport refuses or lists
 * conflicts without changing anything.
 */
export function undoTenantImport(
  pool: Pool,
  tenant: Tenant,
  importId: string,
  dryRun: boolean,
): Promise<UndoReport> {
  return inTenantUnit(pool, tenant, (client) => undoImport(client, importId, { dryRun }));
}
