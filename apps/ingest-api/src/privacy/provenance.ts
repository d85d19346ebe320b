/**
 * Provenance of a CRM row as the API shows it: who created and who last changed it (source kind,
 * import id and file name, user, when). The columns are filled by the database from the writing
 * transaction's settings (migration 0870), so every writer records it.
 */
export const PROVENANCE_SQL = (alias: string) =>
  `jsonb_build_object(
     'created', app.provenance(${alias}.created_source, ${alias}.created_import_id, ${alias}.created_by, ${alias}.created_at),
     'updated', app.provenance(${alias}.updated_source, ${alias}.updated_import_id, ${alias}.updated_by, ${alias}.updated_at)
   ) AS provenance`;

/** The same, as a select expression for a table without alias (the CRUD resources). */
export const PROVENANCE_SELECT = `jsonb_build_object(
  'created', app.provenance(created_source, created_import_id, created_by, created_at),
  'updated', app.provenance(updated_source, updated_import_id, updated_by, updated_at))`;
