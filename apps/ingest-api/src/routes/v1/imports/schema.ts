import { ImportResource } from '@prospectflow/import-engine';
import type { TSchema } from 'typebox';
import { Type } from 'typebox';
import { Uuid } from '../../../lib/schemas.js';

/** The schema of an import lives with the engine that writes the row (one definition). */
export { ImportResource };

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ImportErrorItem = Type.Object({
  rowNumber: Type.Integer({ description: 'CSV: line in the file (header = 1); JSON: 1-based index' }),
  column: nullable(Type.String()),
  code: Type.String({
    description: 'stable snake_case, e.g. invalid_siren, formula_injection, duplicate_in_file',
  }),
  kind: Type.Union([Type.Literal('failed'), Type.Literal('skipped')]),
  message: Type.String(),
  rawValue: nullable(Type.String()),
});

/** One import with a page of its row errors: the document composes it from ImportResource. */
export const ImportWithErrors = Type.Intersect([
  ImportResource,
  Type.Object({
    errors: Type.Object({ items: Type.Array(ImportErrorItem), nextCursor: nullable(Type.String()) }),
  }),
]);

export const ImportHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: 'Same key + same body → the same import' }),
  ),
});

export const JsonImportBody = Type.Union([
  Type.Array(Type.Unknown(), {
    description: 'Rows: objects keyed by field name, Pharow header or mapped name',
  }),
  Type.Object(
    {
      rows: Type.Array(Type.Unknown()),
      mapping: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]))),
      fileName: Type.Optional(Type.String({ maxLength: 255 })),
    },
    { additionalProperties: false },
  ),
]);

export const ErrorsQuery = Type.Object({
  errorsLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  errorsCursor: Type.Optional(Type.String({ maxLength: 200 })),
});

const UndoCounts = Type.Object({
  delete: Type.Integer({ description: 'rows the import created, to delete' }),
  restore: Type.Integer({ description: 'rows the import updated, to restore to their values before it' }),
  gone: Type.Integer({ description: 'rows the import created that were deleted since (nothing to do)' }),
});

export const ImportUndoConflict = Type.Object({
  table: Type.String(),
  rowId: Uuid,
  reason: Type.Union([
    Type.Literal('changed_since'),
    Type.Literal('deleted_since'),
    Type.Literal('referenced_since'),
  ]),
});

export const ImportUndo = Type.Object({
  importId: Uuid,
  dryRun: Type.Boolean(),
  applied: Type.Boolean({ description: 'true once deleted/restored (never in a dry run)' }),
  tables: Type.Record(Type.String(), UndoCounts, { description: 'table → what the undo does there' }),
  conflicts: Type.Array(ImportUndoConflict, {
    description: 'rows changed/deleted since the import, or created rows something created since depends on',
  }),
});

/**
 * multipart/form-data import body (API document only: the handler streams it, Fastify does not
 * validate it): one file part named `file`, optionally a `mapping` field.
 */
export const ImportUpload = Type.Object(
  {
    file: Type.String({ format: 'binary', description: 'The CSV file (one part named "file")' }),
    mapping: Type.Optional(
      Type.String({
        description: 'JSON mapping {"Source header": "field"}, as a field before or after the file',
      }),
    ),
  },
  { description: 'A CSV file upload' },
);

/** text/csv import body (API document only: streamed by the handler): the CSV file itself. */
export const CsvImportBody = Type.String({
  description: 'The CSV file as the body (also application/csv, text/plain, application/octet-stream)',
});
