import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { notFound, unprocessable } from '../../../lib/problem.js';
import { IdParams, TenantHeaders } from '../../../lib/schemas.js';

const Time = Type.String({
  pattern: '^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$',
  description: 'HH:mm local time',
});
const Fields = {
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
  status: Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('disabled')]),
};
const Mailbox = Type.Object({
  id: Type.String(),
  ...Fields,
  pausedReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const MailboxCreate = Type.Object(
  {
    fromName: Fields.fromName,
    fromAddress: Fields.fromAddress,
    dailyLimit: Type.Optional(Fields.dailyLimit),
    windowStart: Type.Optional(Fields.windowStart),
    windowEnd: Type.Optional(Fields.windowEnd),
    windowDays: Type.Optional(Fields.windowDays),
    timeZone: Type.Optional(Fields.timeZone),
    minGapSeconds: Type.Optional(Fields.minGapSeconds),
    status: Type.Optional(Fields.status),
  },
  { additionalProperties: false },
);
const MailboxPatch = Type.Partial(Type.Omit(MailboxCreate, []), {
  additionalProperties: false,
  minProperties: 1,
});

type MailboxRow = Static<typeof Mailbox>;

const COLUMNS: Record<string, string> = {
  fromName: 'from_name',
  fromAddress: 'from_address',
  dailyLimit: 'daily_limit',
  windowStart: 'window_start',
  windowEnd: 'window_end',
  windowDays: 'window_days',
  timeZone: 'time_zone',
  minGapSeconds: 'min_gap_seconds',
  status: 'status',
};
const SELECT = `SELECT id, from_name AS "fromName", from_address AS "fromAddress", daily_limit AS "dailyLimit",
  to_char(window_start, 'HH24:MI') AS "windowStart", to_char(window_end, 'HH24:MI') AS "windowEnd", window_days::int[] AS "windowDays",
  time_zone AS "timeZone", min_gap_seconds AS "minGapSeconds", status, paused_reason AS "pausedReason",
  to_json(created_at) #>> '{}' AS "createdAt", to_json(updated_at) #>> '{}' AS "updatedAt" FROM outreach.mailboxes`;

function checkZone(zone: unknown): void {
  if (typeof zone !== 'string') return;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    throw unprocessable('invalid_time_zone', `"${zone}" is not an IANA time zone.`);
  }
}

const mailboxes: FastifyPluginAsyncTypebox = async (fastify) => {
  const tags = ['outreach'];
  fastify.post(
    '',
    {
      schema: {
        tags,
        summary: 'Create a sending mailbox (window, zone, daily cap)',
        headers: TenantHeaders,
        body: MailboxCreate,
        response: { 201: Mailbox },
      },
    },
    async (request, reply) => {
      checkZone(request.body.timeZone);
      const entries = Object.entries(request.body).filter(([, v]) => v !== undefined);
      const created = await fastify.db.tenant(async (c) => {
        const { rows } = await c.query<{ id: string }>(
          `INSERT INTO outreach.mailboxes (${entries.map(([k]) => COLUMNS[k]).join(', ')})
           VALUES (${entries.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
          entries.map(([, v]) => v),
        );
        return (await c.query<MailboxRow>(`${SELECT} WHERE id = $1`, [rows[0]!.id])).rows[0]!;
      });
      reply.code(201).header('location', `/v1/mailboxes/${created.id}`);
      return created;
    },
  );
  fastify.get(
    '',
    {
      schema: {
        tags,
        summary: 'List mailboxes',
        headers: TenantHeaders,
        response: { 200: Type.Object({ items: Type.Array(Mailbox) }) },
      },
    },
    async () => ({
      items: await fastify.db.tenant(
        async (c) => (await c.query<MailboxRow>(`${SELECT} ORDER BY created_at, id`)).rows,
      ),
    }),
  );
  fastify.get(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Get a mailbox',
        headers: TenantHeaders,
        params: IdParams,
        response: { 200: Mailbox },
      },
    },
    async (request) => {
      const row = await fastify.db.tenant(
        async (c) => (await c.query<MailboxRow>(`${SELECT} WHERE id = $1`, [request.params.id])).rows[0],
      );
      if (!row) throw notFound('Mailbox');
      return row;
    },
  );
  fastify.patch(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Update a mailbox (status active clears the pause reason)',
        headers: TenantHeaders,
        params: IdParams,
        body: MailboxPatch,
        response: { 200: Mailbox },
      },
    },
    async (request) => {
      const body = request.body as Record<string, unknown>;
      checkZone(body.timeZone);
      const entries = Object.entries(body).filter(([, v]) => v !== undefined);
      const row = await fastify.db.tenant(async (c) => {
        const sets = entries.map(([k], i) => `${COLUMNS[k]} = $${i + 2}`);
        if (body.status === 'active') sets.push('paused_reason = NULL');
        const { rowCount } = await c.query(`UPDATE outreach.mailboxes SET ${sets.join(', ')} WHERE id = $1`, [
          request.params.id,
          ...entries.map(([, v]) => v),
        ]);
        if (!rowCount) return undefined;
        if (body.status === 'active') {
          // Tasks snoozed while the mailbox was paused may go now.
          await c.query(
            `UPDATE outreach.tasks t SET run_at = now() FROM outreach.campaign_enrollments e JOIN outreach.campaigns ca
               ON ca.organisation_id = e.organisation_id AND ca.id = e.campaign_id
             WHERE t.status = 'pending' AND t.type = 'send_step' AND e.organisation_id = t.organisation_id AND e.id = t.enrollment_id
               AND ca.mailbox_id = $1 AND t.run_at > now() AND t.last_error LIKE 'snoozed: mailbox%'`,
            [request.params.id],
          );
        }
        return (await c.query<MailboxRow>(`${SELECT} WHERE id = $1`, [request.params.id])).rows[0];
      });
      if (!row) throw notFound('Mailbox');
      return row;
    },
  );
  fastify.delete(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Delete a mailbox (refused with 422 while a campaign or message uses it)',
        headers: TenantHeaders,
        params: IdParams,
      },
    },
    async (request, reply) => {
      const { rowCount } = await fastify.db.tenant((c) =>
        c.query('DELETE FROM outreach.mailboxes WHERE id = $1', [request.params.id]),
      );
      if (!rowCount) throw notFound('Mailbox');
      return reply.code(204).send();
    },
  );
};

export default mailboxes;
