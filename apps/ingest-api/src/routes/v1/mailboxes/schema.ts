import { MAILBOX_STATUSES } from '@prospectflow/contracts';
import { Type } from 'typebox';
import { OneOf } from '../../../lib/schemas.js';

const Time = Type.String({
  pattern: '^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$',
  description: 'HH:mm local time',
});
const Security = Type.Union([Type.Literal('tls'), Type.Literal('starttls'), Type.Literal('none')], {
  description:
    'tls: implicit TLS (465/993); starttls: upgrade (587/143); none: plain (allow-listed test servers only)',
});
const Provider = Type.Union(
  [Type.Literal('relay'), Type.Literal('smtp_imap'), Type.Literal('google'), Type.Literal('microsoft')],
  {
    description:
      'smtp_imap: your own SMTP + IMAP account (app password); google / microsoft: OAuth (XOAUTH2) with a refresh token; relay: the platform relay, only for a domain proved in DNS (POST /v1/sending-domains)',
  },
);
export const Fields = {
  fromName: Type.String({ minLength: 1, maxLength: 200 }),
  fromAddress: Type.String({ format: 'email', maxLength: 320 }),
  dailyLimit: Type.Integer({ minimum: 1, maximum: 10_000 }),
  windowStart: Time,
  windowEnd: Time,
  windowDays: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), {
    minItems: 1,
    maxItems: 7,
    uniqueItems: true,
    description: 'ISO weekdays, 1 = Monday',
  }),
  timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone, e.g. Europe/Paris' }),
  minGapSeconds: Type.Integer({ minimum: 0, maximum: 86_400 }),
  status: Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('disabled')], {
    description:
      'A mailbox in error (the provider refused its credentials) goes back to active only through a passing check: POST /v1/mailboxes/{id}/verify, or new credentials. active alone is refused on it (422 mailbox_in_error); paused or disabled takes it out of error but unverified, with a new check queued',
  }),
};

const Host = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_\\[\\]-]+$' });
const EndpointInput = Type.Object(
  {
    host: Type.Optional(Host),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535 })),
    security: Type.Optional(Security),
    user: Type.Optional(
      Type.String({ minLength: 1, maxLength: 320, description: 'default: the from-address' }),
    ),
    password: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1000,
        writeOnly: true,
        description: 'write-only; stored encrypted',
      }),
    ),
  },
  { additionalProperties: false },
);
const Connection = {
  provider: Type.Optional(Provider),
  smtp: Type.Optional(EndpointInput),
  imap: Type.Optional(
    Type.Object(EndpointInput.properties, {
      additionalProperties: false,
      description: 'password defaults to the SMTP password',
    }),
  ),
  oauth: Type.Optional(
    Type.Object(
      {
        refreshToken: Type.String({
          minLength: 1,
          maxLength: 4000,
          writeOnly: true,
          description: 'write-only; stored encrypted',
        }),
      },
      { additionalProperties: false },
    ),
  ),
};

const Configured = Type.Object({ configured: Type.Boolean() });
const EndpointView = Type.Object({
  host: Type.String(),
  port: Type.Integer(),
  security: Security,
  user: Type.String(),
  password: Configured,
});
export const Mailbox = Type.Object({
  id: Type.String(),
  ...Fields,
  status: OneOf(MAILBOX_STATUSES),
  pausedReason: Type.Union([Type.String(), Type.Null()]),
  provider: Provider,
  smtp: Type.Union([EndpointView, Type.Null()]),
  imap: Type.Union([EndpointView, Type.Null()]),
  oauth: Type.Union([Type.Object({ refreshToken: Configured }), Type.Null()]),
  verification: Type.Object({
    status: Type.Union([
      Type.Literal('unverified'),
      Type.Literal('verifying'),
      Type.Literal('verified'),
      Type.Literal('failed'),
    ]),
    verifiedAt: Type.Union([Type.String(), Type.Null()]),
    failure: Type.Union([Type.String(), Type.Null()], {
      description: 'first failing step and kind, e.g. smtp:auth',
    }),
    steps: Type.Record(Type.String(), Type.Unknown(), {
      description: 'per step (smtp, imap, roundtrip, domain): ok, at, kind, the server answer',
    }),
  }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
/** When and how much a mailbox sends, optional at creation (the database has the defaults). */
const Pacing = {
  dailyLimit: Type.Optional(Fields.dailyLimit),
  windowStart: Type.Optional(Fields.windowStart),
  windowEnd: Type.Optional(Fields.windowEnd),
  windowDays: Type.Optional(Fields.windowDays),
  timeZone: Type.Optional(Fields.timeZone),
  minGapSeconds: Type.Optional(Fields.minGapSeconds),
};
export const MailboxCreate = Type.Object(
  {
    fromName: Fields.fromName,
    fromAddress: Fields.fromAddress,
    ...Pacing,
    status: Type.Optional(Fields.status),
    ...Connection,
  },
  { additionalProperties: false },
);
export const MailboxPatch = Type.Partial(Type.Omit(MailboxCreate, []), {
  additionalProperties: false,
  minProperties: 1,
});

/** A server of an OAuth mailbox: where it differs from the provider's (no password: the token is the secret). */
const EndpointSettings = Type.Omit(EndpointInput, ['password'], { additionalProperties: false });
export const OAuthStart = Type.Object(
  {
    provider: Type.Union([Type.Literal('google'), Type.Literal('microsoft')]),
    fromAddress: Type.String({
      ...Fields.fromAddress,
      description: 'the account to connect (sent as login hint); a reconnected mailbox keeps its own',
    }),
    mailboxId: Type.Optional(
      Type.String({
        format: 'uuid',
        description:
          'reconnect this mailbox (its consent was revoked or expired) instead of creating one; no other settings then',
      }),
    ),
    fromName: Type.Optional(Type.String({ ...Fields.fromName, description: 'default: the address' })),
    ...Pacing,
    smtp: Type.Optional(EndpointSettings),
    imap: Type.Optional(EndpointSettings),
  },
  { additionalProperties: false },
);
export const OAuthStarted = Type.Object({
  authorizationUrl: Type.String({
    description: "the provider's consent page: send the user's browser there",
  }),
  expiresAt: Type.String({ description: 'complete before this (10 minutes)' }),
});
export const OAuthComplete = Type.Object(
  {
    state: Type.String({ minLength: 1, maxLength: 200, description: 'the `state` the provider sent back' }),
    code: Type.String({ minLength: 1, maxLength: 4000, description: 'the `code` the provider sent back' }),
  },
  { additionalProperties: false },
);
