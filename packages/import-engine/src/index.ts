export { discardAbandonedUploads } from './abandoned-uploads.js';
export { type Delimiter, detectDelimiter, readCsv, type SourceRow } from './csv-source.js';
export { type DetectedEncoding, detectEncoding, SAMPLE_BYTES, scanFile } from './encoding.js';
export { ERASED_TABLE, flagErasedRows, IMPORT_PROVENANCE_SQL } from './erased-subjects.js';
export { formatStoredError, ImportAlreadyFinished, ImportFailure, parseStoredError } from './errors.js';
export { IMPORT_FIELDS, type ImportField, isImportField, MAX_CELL_LENGTH } from './fields.js';
export { type ImportErrorRecord, listImportErrors } from './import-error-list.js';
export { type ImportRecord, ImportResource, type ImportStatus } from './import-record.js';
export { readJsonRows } from './json-source.js';
export {
  type CustomMapping,
  normaliseHeader,
  parseCustomMapping,
  type ResolvedMapping,
  resolveMapping,
} from './mapping.js';
export { COUNTS_SQL, PIPELINE, SAVE_ERRORS_SQL, SKIP_CODES } from './pipeline-sql.js';
export { type PreparedCsv, prepareCsvFile } from './prepare.js';
export { ProgressReporter } from './progress.js';
export { enqueueImport, IMPORT_TASK_TYPE, importStorageKey } from './queue.js';
export {
  attachUpload,
  createImport,
  deletePendingImport,
  findByContent,
  findById,
  findByIdempotencyKey,
  getImport,
  insertImport,
  markFailed,
  markRunning,
  type NewImport,
  touchImport,
} from './repository.js';
export {
  type ImportCounts,
  type ImportJob,
  type ImportOutcome,
  type ImportSource,
  isDataFailure,
  runImport,
} from './run-import.js';
export { createStageSql, STAGE_TABLE, type StagedRowError, StagingWriter } from './staging.js';
export { runStoredImport, type StoredImportJob } from './stored-import.js';
export { inTenantUnit, type Tenant } from './tenant-unit.js';
export {
  SEAL_LEDGER_SQL,
  type UndoAction,
  type UndoConflict,
  type UndoConflictReason,
  UndoRefused,
  type UndoReport,
  undoImport,
} from './undo.js';
export { CsvUploadProbe, type PreparedSample, type ProbedUpload, prepareCsvSample } from './upload-probe.js';
