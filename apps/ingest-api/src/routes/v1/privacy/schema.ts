import { Type } from 'typebox';
import { Nullable, Uuid } from '../../../lib/schemas.js';

/**
 * A data subject's address, internationalised ones (RFC 6531, "zoé@exemple.fr") included: the
 * address a person gives may be one the CRM refuses (`format: email` is ASCII only) but that is
 * held anyway — a rejected import cell, a legacy archive row, a reply's sender — and the erasure
 * and the export must take it. The shape of app.emails_in (migration 1005), which finds the
 * subject's addresses in those records: no space, control character, quote, bracket or separator, one @, a dot after it.
 */
const SubjectEmail = Type.String({
  maxLength: 320,
  pattern: `^[^\\s\\u0000-\\u001f\\u007f"(),:;<>@\\[\\]\\\\]+@[^\\s\\u0000-\\u001f\\u007f"(),:;<>@\\[\\]\\\\]+\\.[^\\s\\u0000-\\u001f\\u007f"(),:;<>@\\[\\]\\\\.]+$`,
  description: 'an email address; internationalised addresses (RFC 6531) are accepted',
});

/** Exactly one of the three (one object with maxProperties rather than a union: one error, not three). */
export const ErasureCreate = Type.Object(
  {
    email: Type.Optional(SubjectEmail),
    personId: Type.Optional(Uuid),
    requestId: Type.Optional(
      Type.String({
        format: 'uuid',
        description: 'a recipient’s request (GET /v1/privacy/erasure-requests)',
      }),
    ),
  },
  {
    additionalProperties: false,
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

export const PrivacySettingsPatch = Type.Partial(PrivacySettings, {
  additionalProperties: false,
  minProperties: 1,
});

export const SubjectQuery = Type.Object({ email: SubjectEmail });

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

/**
 * A stored row as held, column names as in the database (snake_case; timestamps as ISO strings):
 * open, so the access document never loses a column (the serializer drops undeclared properties).
 */
export const SubjectRecord = Type.Object(
  {},
  { additionalProperties: true, description: 'A stored row, its columns as held' },
);

const records = (description: string) => Type.Array(SubjectRecord, { description });

/** GET /v1/privacy/subjects: the Art. 15 document (privacy/subject-access.ts builds it). */
export const SubjectAccess = Type.Object({
  generatedAt: Type.String({ format: 'date-time' }),
  subject: Type.Object({
    email: Type.String(),
    found: Type.Boolean({
      description:
        'anything is held for this address: a person, a message, an import error, a legacy record or a suppression',
    }),
  }),
  controller: Type.Object({
    name: Type.String(),
    privacyNoticeUrl: Nullable(Type.String()),
  }),
  purposes: Type.Array(Type.String()),
  recipients: Type.Array(Type.String()),
  retention: Type.Object({ people: Type.String(), openEvents: Type.String() }),
  rights: Type.Array(Type.String()),
  records: Type.Object({
    people: records('crm.people rows of the subject'),
    positions: records('crm.positions rows: the one with this address, then their others'),
    companies: records('crm.companies the positions are at'),
  }),
  enrollments: records('campaign enrollments of their positions, with campaign_name'),
  messages: records('messages sent to or received from their addresses'),
  events: records('open events of those messages'),
  suppressions: records('suppressions matching them, with matched_by'),
  importErrors: records('import errors holding their data'),
  importSourceKeys: records(
    'the importers’ keys of their records in the source files (a legacy table keyed by email keeps the address)',
  ),
  legacyRecords: records('rows of legacy databases holding their data'),
});
