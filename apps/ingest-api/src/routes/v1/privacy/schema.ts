import { Type } from 'typebox';
import { Nullable, Uuid } from '../../../lib/schemas.js';

/** Exactly one of the three (one object, not a union: the body validator strips unknown keys). */
export const ErasureCreate = Type.Object(
  {
    email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
    personId: Type.Optional(Uuid),
    requestId: Type.Optional(
      Type.String({
        format: 'uuid',
        description: 'a recipient’s request (GET /v1/privacy/erasure-requests)',
      }),
    ),
  },
  {
    minProperties: 1,
    maxProperties: 1,
    description: 'Who to erase: exactly one of email, personId, requestId',
  },
);

export const Erasure = Type.Object({
  id: Uuid,
  removed: Type.Record(Type.String(), Type.Integer(), { description: 'store → rows removed' }),
  completedAt: Type.String({ format: 'date-time' }),
});

export const ErasureLedgerEntry = Type.Object({
  id: Uuid,
  requestedBy: Nullable(Type.String({ format: 'uuid' })),
  requestId: Nullable(Type.String({ format: 'uuid' })),
  removed: Type.Record(Type.String(), Type.Integer()),
  completedAt: Type.String({ format: 'date-time' }),
});

export const ErasureRequest = Type.Object({
  id: Uuid,
  status: Type.Union([Type.Literal('pending'), Type.Literal('completed')]),
  channel: Type.String(),
  /** The person the request is about (while it is pending). */
  personId: Nullable(Type.String({ format: 'uuid' })),
  receivedAt: Type.String({ format: 'date-time' }),
  dueAt: Type.String({ format: 'date-time' }),
  erasureId: Nullable(Type.String({ format: 'uuid' })),
});

const days = (max: number, min = 1) => Type.Integer({ minimum: min, maximum: max });

export const PrivacySettings = Type.Object({
  privacyNoticeUrl: Nullable(Type.String({ format: 'uri', maxLength: 2048, pattern: '^https?://' })),
  art14Notice: Nullable(
    Type.String({
      maxLength: 4000,
      description: 'Art. 14 notice put in a message by {{privacy.notice}}; may use {{privacy.source}}',
    }),
  ),
  peopleRetentionDays: days(3650),
  openEventsRetentionMonths: days(120),
  finishedTasksRetentionDays: days(3650, 0),
  importErrorValuesRetentionDays: days(3650, 0),
  auditRetentionDays: days(3650),
  retentionEnabled: Type.Boolean(),
});

export const PrivacySettingsPatch = Type.Partial(PrivacySettings, { minProperties: 1 });

export const SubjectQuery = Type.Object({ email: Type.String({ format: 'email', maxLength: 320 }) });

export const RetentionPreview = Type.Object({
  enabled: Type.Boolean(),
  generatedAt: Type.String({ format: 'date-time' }),
  rules: Type.Array(
    Type.Object({
      rule: Type.String(),
      description: Type.String(),
      cutoff: Type.String({ format: 'date-time', description: 'rows older than this are due' }),
      due: Type.Integer({ description: 'rows the next run would remove (or clear)' }),
    }),
  ),
});
