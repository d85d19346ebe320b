import { Type } from 'typebox';
import { Nullable, Provenance, Timestamps, Uuid } from '../../../lib/schemas.js';

const nullableString = (maxLength: number, extra: Record<string, unknown> = {}) =>
  Nullable(Type.String({ maxLength, ...extra }));

const writable = {
  firstName: nullableString(200),
  lastName: nullableString(200),
  linkedinUrl: nullableString(2048),
  phone: nullableString(40, { description: 'any format; French numbers without +33 accepted; stored E.164' }),
  location: nullableString(500),
  pharowPersonId: nullableString(200),
  custom: Type.Record(Type.String(), Type.Unknown()),
};

/** A person needs a first or a last name (checked in the route and by the table). */
export const PersonCreate = Type.Partial(Type.Object(writable), { additionalProperties: false });
export const PersonPatch = Type.Partial(Type.Object(writable), {
  additionalProperties: false,
  minProperties: 1,
});
export const Person = Type.Object({ id: Uuid, ...writable, ...Timestamps, provenance: Provenance });
