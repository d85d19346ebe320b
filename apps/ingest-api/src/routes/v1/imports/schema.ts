import type { TSchema } from 'typebox';
import { Type } from 'typebox';
import { Uuid } from '../../../lib/schemas.js';

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

export const ImportResource = Type.Object({
  id: Uuid,
  status: Type.Union([
    Type.Literal('pending'),
    Type.Literal('running'),
    Type.Literal('succeeded'),
    Type.Literal('failed'),
  ]),
  sourceKind: Type.Union([Type.Literal('csv'), Type.Literal('json'), Type.Literal('sqlite')]),
  fileName: nullable(Type.String()),
  contentSha256: nullable(Type.String()),
  idempotencyKey: nullable(Type.String()),
  mapping: Type.Object({}, { additionalProperties: true }),
  progress: Type.Object({ rowsProcessed: Type.Integer(), rowsTotal: nullable(Type.Integer()) }),
  counts: Type.Object({
    inserted: Type.Integer(),
    updated: Type.Integer(),
    skipped: Type.Integer(),
    failed: Type.Integer(),
  }),
  error: nullable(Type.Object({ code: Type.String(), message: Type.String() })),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: nullable(Type.String({ format: 'date-time' })),
  finishedAt: nullable(Type.String({ format: 'date-time' })),
});

export const ImportWithErrors = Type.Object({
  ...ImportResource.properties,
  errors: Type.Object({ items: Type.Array(ImportErrorItem), nextCursor: nullable(Type.String()) }),
});

export const ImportHeaders = Type.Object({
  'x-organisation-id': Type.String({ format: 'uuid' }),
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
