import { CAMPAIGN_STATUSES } from '@prospectflow/contracts';
import { Type } from 'typebox';
import { OneOf } from '../../../lib/schemas.js';

const Template = Type.String({ minLength: 1, maxLength: 20_000 });
const Subject = Type.String({ minLength: 1, maxLength: 500 });

export const VariantInput = Type.Object(
  {
    label: Type.String({ pattern: '^[A-Za-z0-9_-]{1,20}$' }),
    weight: Type.Integer({ minimum: 1, maximum: 1000 }),
    subject: Type.Optional(Subject),
    body: Template,
  },
  { additionalProperties: false },
);

export const StepInput = Type.Object(
  {
    delayDays: Type.Integer({
      minimum: 0,
      maximum: 365,
      description: 'Days after the previous step was sent (step 1: 0)',
    }),
    exitOnReply: Type.Optional(Type.Boolean({ default: true })),
    subject: Type.Optional(
      Type.Union([Subject, Type.Null()], { description: 'null: reply in the thread of the previous step' }),
    ),
    body: Type.Optional(Template),
    variants: Type.Optional(Type.Array(VariantInput, { minItems: 2, maxItems: 10 })),
  },
  { additionalProperties: false },
);

/** What a campaign is created with and a change may replace (optional in both). */
const CampaignSettings = {
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  mailboxId: Type.Optional(Type.String({ format: 'uuid' })),
  additionalMailboxIds: Type.Optional(
    Type.Array(Type.String({ format: 'uuid' }), {
      maxItems: 20,
      uniqueItems: true,
      description:
        'Further mailboxes the campaign sends from besides mailboxId (round-robin by remaining daily capacity); each recipient stays on the mailbox that sent its first step. Replaces the list.',
    }),
  ),
  trackingEnabled: Type.Optional(Type.Boolean()),
};
const CampaignName = Type.String({ minLength: 1, maxLength: 200 });

export const CampaignCreate = Type.Object(
  {
    name: CampaignName,
    ...CampaignSettings,
    steps: Type.Array(StepInput, { minItems: 1, maxItems: 20 }),
  },
  { additionalProperties: false },
);

export const CampaignPatch = Type.Object(
  {
    name: Type.Optional(CampaignName),
    ...CampaignSettings,
    steps: Type.Optional(
      Type.Array(StepInput, {
        minItems: 1,
        maxItems: 20,
        description: 'Replaces every step; draft campaigns only',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

const Variant = Type.Object({
  id: Type.String(),
  label: Type.String(),
  weight: Type.Integer(),
  subject: Type.Union([Type.String(), Type.Null()]),
  body: Type.String(),
});
const Step = Type.Object({
  id: Type.String(),
  order: Type.Integer(),
  delayDays: Type.Integer(),
  exitOnReply: Type.Boolean(),
  subject: Type.Union([Type.String(), Type.Null()]),
  body: Type.Union([Type.String(), Type.Null()]),
  experiment: Type.Union([
    Type.Object({
      id: Type.String(),
      status: Type.String(),
      winnerVariantId: Type.Union([Type.String(), Type.Null()]),
      variants: Type.Array(Variant),
    }),
    Type.Null(),
  ]),
});
export const Campaign = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  status: OneOf(CAMPAIGN_STATUSES),
  mailboxId: Type.Union([Type.String(), Type.Null()]),
  /** Further mailboxes the campaign rotates across (outreach.campaign_mailboxes). */
  additionalMailboxIds: Type.Array(Type.String()),
  trackingEnabled: Type.Boolean(),
  activatedAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  steps: Type.Array(Step),
});

export const EnrollmentRequest = Type.Object(
  {
    positionIds: Type.Optional(
      Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 10_000 }),
    ),
    filter: Type.Optional(
      Type.Object(
        {
          listName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          companyId: Type.Optional(Type.String({ format: 'uuid' })),
          titleContains: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        },
        { additionalProperties: false, minProperties: 1 },
      ),
    ),
    allowEnrolledElsewhere: Type.Optional(
      Type.Boolean({ default: false, description: 'Enroll people already active in another campaign' }),
    ),
  },
  { additionalProperties: false },
);

export const SkipReason = Type.Union([
  Type.Literal('not_found'),
  Type.Literal('no_email'),
  Type.Literal('suppressed'),
  Type.Literal('duplicate'),
  Type.Literal('enrolled_elsewhere'),
]);

export const EnrollmentResult = Type.Object({
  enrolled: Type.Array(Type.Object({ positionId: Type.String(), enrollmentId: Type.String() })),
  skipped: Type.Array(Type.Object({ positionId: Type.String(), reason: SkipReason })),
});

export const EnrollmentStopParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  enrollmentId: Type.String({ format: 'uuid' }),
});

export const EnrollmentStopped = Type.Object({
  enrollmentId: Type.String({ format: 'uuid' }),
  status: Type.String({
    description: 'The enrollment status after the stop (unsubscribed; unchanged if it had already ended)',
  }),
  stopped: Type.Boolean({
    description: 'false: the enrollment had already ended (bounced, unsubscribed, completed…)',
  }),
  suppressed: Type.Boolean({ description: 'The address was added to the suppression list (reason manual)' }),
});

const Counters = {
  sent: Type.Integer(),
  opened: Type.Integer(),
  machineOpened: Type.Integer({ description: 'Likely machine opens (prefetch, scanners), not in opened' }),
  replied: Type.Integer(),
  bounced: Type.Integer(),
  unsubscribed: Type.Integer(),
};
export const CampaignStats = Type.Object({
  days: Type.Array(
    Type.Object({
      day: Type.String(),
      variantId: Type.Union([Type.String(), Type.Null()]),
      variantLabel: Type.Union([Type.String(), Type.Null()]),
      ...Counters,
    }),
  ),
  variants: Type.Array(
    Type.Object({
      variantId: Type.Union([Type.String(), Type.Null()]),
      variantLabel: Type.Union([Type.String(), Type.Null()]),
      ...Counters,
    }),
  ),
  totals: Type.Object(Counters),
});
