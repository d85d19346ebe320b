import { Type } from 'typebox';
import { Nullable, Provenance, Timestamps, Uuid } from '../../../lib/schemas.js';

const nullableString = (maxLength: number, extra: Record<string, unknown> = {}) =>
  Nullable(Type.String({ maxLength, ...extra }));

const EmailStatus = Type.Union(
  ['unknown', 'valid', 'risky', 'catch_all', 'invalid'].map((value) => Type.Literal(value)),
);
const PositionStatus = Type.Union(['active', 'former', 'unknown'].map((value) => Type.Literal(value)));

const editable = {
  title: nullableString(500),
  // No `format: 'email'`: it would refuse ` Ada@acme.fr ` that an import accepts; the field rule
  // (trim, lower-case, check) answers 422 invalid_email in the route, as it does for every door.
  email: Nullable(
    Type.String({
      maxLength: 320,
      description: 'an email address; stored trimmed and lower-cased (422 invalid_email)',
    }),
  ),
  emailStatus: EmailStatus,
  emailReliability: Nullable(Type.Integer({ minimum: 0, maximum: 100 })),
  phone: nullableString(40, { description: 'any format; French numbers without +33 accepted; stored E.164' }),
  listName: nullableString(200),
  status: PositionStatus,
  custom: Type.Record(Type.String(), Type.Unknown()),
};

/** A person's job at a company; the email lives here (unique per organisation). */
export const PositionCreate = Type.Object(
  {
    personId: Uuid,
    companyId: Uuid,
    ...Object.fromEntries(Object.entries(editable).map(([k, v]) => [k, Type.Optional(v)])),
  } as { personId: typeof Uuid; companyId: typeof Uuid } & {
    [K in keyof typeof editable]: ReturnType<typeof Type.Optional<(typeof editable)[K]>>;
  },
  { additionalProperties: false },
);
export const PositionPatch = Type.Partial(Type.Object(editable), {
  additionalProperties: false,
  minProperties: 1,
});
export const Position = Type.Object({
  id: Uuid,
  personId: Uuid,
  companyId: Uuid,
  ...editable,
  ...Timestamps,
  provenance: Provenance,
});
