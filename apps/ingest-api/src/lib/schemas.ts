import { type Static, type TSchema, Type } from 'typebox';

/** Shared TypeBox pieces for route schemas. */
export const Uuid = Type.String({ format: 'uuid' });

export const IdParams = Type.Object({ id: Uuid });

/** Documents the tenant header on scoped routes (auth-core checks it before validation runs). */
export const TenantHeaders = Type.Object({
  'x-organisation-id': Type.String({ format: 'uuid', description: 'Organisation the request acts for' }),
});

/** RFC 9457 body, for response docs. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
};

export function Page<T extends ReturnType<typeof Type.Object>>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()]),
  });
}

export const Timestamps = {
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
};

export const Role = Type.Union([
  Type.Literal('owner'),
  Type.Literal('admin'),
  Type.Literal('member'),
  Type.Literal('viewer'),
]);

/**
 * `T | null` as a JSON Schema type array (`type: ['string', 'null']`), not `anyOf`: with Fastify's
 * type coercion, `anyOf [string, null]` turns a JSON null into "" (the first branch coerces).
 * Use this for every nullable scalar.
 */
export function Nullable<T extends TSchema & { type: string }>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });
}
