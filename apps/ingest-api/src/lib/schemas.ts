import { ERRORS, type ErrorCode, ROLES_BY_RANK } from '@prospectflow/contracts';
import { type Static, type TEnum, type TSchema, Type } from 'typebox';
import { registerPage } from './openapi/components.js';

/** Shared TypeBox pieces for route schemas. */
export const Uuid = Type.String({ format: 'uuid' });

export const IdParams = Type.Object({ id: Uuid });

/** RFC 9457 body (`application/problem+json`): every error answer; the document's `Problem`. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI of the problem type (one per code)' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String({ description: 'For people; do not parse' }),
    // Every code of @prospectflow/contracts: a generated client types `code` as their union, so a
    // misspelt code in a client's comparison does not compile.
    code: Type.Unsafe<ErrorCode>({
      type: 'string',
      enum: Object.keys(ERRORS).sort(),
      description: 'Stable snake_case code clients switch on (every code: @prospectflow/contracts ERRORS)',
    }),
    instance: Type.Optional(Type.String({ description: 'The request id (also `x-request-id`)' })),
  },
  {
    additionalProperties: true,
    description:
      'RFC 9457 problem details. Extension members by code: `errors[]` (validation_failed), `requiredRole` (insufficient_role), `existingId` (conflicts).',
  },
);

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
};

/** A whole list, unpaged: `{ items }`, the one envelope of every list that is not paged. */
export function Items<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item) });
}

const pages = new WeakMap<object, object>();

/** One page of a list; one schema per item, so the document names it (`CompanyPage`). */
export function Page<T extends ReturnType<typeof Type.Object>>(item: T) {
  const page = Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()]),
  });
  const known = pages.get(item) as typeof page | undefined;
  if (known) return known;
  pages.set(item, page);
  registerPage(page, item);
  return page;
}

export const Timestamps = {
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
};

/** One of a fixed list of strings (the lists come from @prospectflow/contracts). */
export function OneOf<const T extends string[]>(values: readonly [...T]): TEnum<T> {
  return Type.Enum(values, { type: 'string' });
}

export const Role = OneOf(ROLES_BY_RANK);

/**
 * `T | null` as a JSON Schema type array (`type: ['string', 'null']`), not `anyOf`: with Fastify's
 * type coercion, `anyOf [string, null]` turns a JSON null into "" (the first branch coerces).
 * Use this for every nullable scalar.
 */
export function Nullable<T extends TSchema & { type: string }>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });
}

const ProvenanceEntry = Type.Object({
  source: Type.String({
    description: 'api, csv, json, sqlite, system, or unknown (written before provenance existed)',
  }),
  importId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  fileName: Type.Union([Type.String(), Type.Null()], { description: 'of the import, while its row exists' }),
  userId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  at: Type.String({ format: 'date-time' }),
});

/** Who created and who last changed a CRM record (GDPR Art. 14(2)(f) / 15(1)(g): its source). */
export const Provenance = Type.Object({ created: ProvenanceEntry, updated: ProvenanceEntry });
