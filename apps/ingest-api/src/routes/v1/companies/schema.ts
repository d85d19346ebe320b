import { Type } from 'typebox';
import { Nullable, Provenance, Timestamps, Uuid } from '../../../lib/schemas.js';

const str = (maxLength: number, extra: Record<string, unknown> = {}) => Type.String({ maxLength, ...extra });

/** Writable fields; normalisation (SIREN, NAF, phone, URLs, domain) happens in the route. */
const writable = {
  name: Type.String({ minLength: 1, maxLength: 500, pattern: '\\S' }),
  websiteUrl: Nullable(str(2048)),
  domain: Nullable(str(253)),
  siren: Nullable(str(20, { description: '9 digits with a valid check digit; spaces allowed' })),
  siret: Nullable(str(30, { description: '14 digits with a valid check digit' })),
  nafCode: Nullable(str(10, { description: 'NAF/APE, e.g. 62.01Z' })),
  linkedinUrl: Nullable(str(2048)),
  pharowCompanyId: Nullable(str(200)),
  phone: Nullable(str(40, { description: 'any format; French numbers without +33 accepted; stored E.164' })),
  addressLine1: Nullable(str(500)),
  addressLine2: Nullable(str(500)),
  postalCode: Nullable(str(20)),
  city: Nullable(str(200)),
  countryCode: Nullable(
    str(100, {
      description: 'ISO 3166-1 alpha-2 (FR) or an English or French name (Allemagne); stored as the code',
    }),
  ),
  employeeRange: Nullable(str(50)),
  employeeCount: Nullable(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
  industry: Nullable(str(500)),
  description: Nullable(str(10_000)),
  custom: Type.Record(Type.String(), Type.Unknown()),
};

const { name, ...optional } = writable;

export const CompanyCreate = Type.Object(
  {
    name,
    ...Object.fromEntries(Object.entries(optional).map(([k, v]) => [k, Type.Optional(v)])),
  } as typeof writable extends infer W ? { [K in keyof W]: W[K] } : never,
  { additionalProperties: false },
);

export const CompanyPatch = Type.Partial(Type.Object(writable), {
  additionalProperties: false,
  minProperties: 1,
});

export const Company = Type.Object({ id: Uuid, ...writable, ...Timestamps, provenance: Provenance });
