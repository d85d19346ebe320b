import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notFound } from '../../../lib/problem.js';
import { created } from '../../../lib/replies.js';
import { MANAGE, READ } from '../../../lib/role-policy.js';
import { IdParams, Items } from '../../../lib/schemas.js';
import { checkZone, prepareChange, split } from '../../../mailboxes/change.js';
import { changesConnection } from '../../../mailboxes/connection.js';
import { type ConnectionChange, mailboxesRepository } from '../../../repositories/mailboxes.js';
import { Mailbox, MailboxCreate, MailboxPatch } from './schema.js';

/** What a connection given in a create or a change can be refused for (422). */
const CONNECTION_REFUSALS = [
  'mailbox_connection_incomplete',
  'mailbox_host_refused',
  'mailbox_plaintext_refused',
  'relay_takes_no_servers',
  'invalid_time_zone',
] as const;

/** Sending identities: anyone reads them, admins manage them (mail goes out in the organisation's name). */
const mailboxes: FastifyPluginAsyncTypebox = async (fastify) => {
  const tags = ['outreach'];
  const repository = mailboxesRepository(fastify.db);
  fastify.post(
    '',
    {
      config: { ...MANAGE, problems: { 409: ['mailbox_address_taken'], 422: CONNECTION_REFUSALS } },
      schema: {
        tags,
        summary:
          'Connect a sending mailbox (SMTP + IMAP with an app password, Google/Microsoft OAuth, or the relay for a proved domain); unverified until the worker has checked it',
        body: MailboxCreate,
        response: { 201: Mailbox },
      },
    },
    async (request, reply) => {
      checkZone(request.body.timeZone);
      const { values, input } = split(request.body);
      const id = repository.newId();
      const change = await prepareChange(
        fastify,
        repository.organisationId(),
        { id },
        input,
        request.body.fromAddress,
      );
      const row = await repository.create(id, values, change);
      return created(reply, `/v1/mailboxes/${row.id}`, row);
    },
  );
  fastify.get(
    '',
    {
      config: READ,
      schema: {
        tags,
        summary: 'List mailboxes (secrets never returned, only whether they are configured)',
        response: { 200: Items(Mailbox) },
      },
    },
    async () => ({ items: await repository.list() }),
  );
  fastify.get(
    '/:id',
    {
      config: READ,
      schema: {
        tags,
        summary: 'Get a mailbox with its verification steps',
        params: IdParams,
        response: { 200: Mailbox },
      },
    },
    async (request) => {
      const row = await repository.get(request.params.id);
      if (!row) throw notFound('Mailbox');
      return row;
    },
  );
  fastify.patch(
    '/:id',
    {
      config: {
        ...MANAGE,
        problems: {
          409: ['mailbox_address_taken', 'mailbox_changed_concurrently'],
          422: [
            ...CONNECTION_REFUSALS,
            'secret_required_for_host_change',
            'mailbox_secrets_unreadable',
            'mailbox_in_error',
          ],
        },
      },
      schema: {
        tags,
        summary:
          'Update a mailbox (status active clears the pause reason); a new server, secret, provider or from-address makes it unverified until checked again',
        params: IdParams,
        body: MailboxPatch,
        response: { 200: Mailbox },
      },
    },
    async (request) => {
      const body = request.body as Record<string, unknown>;
      checkZone(body.timeZone);
      const { values, input } = split(body);
      let id = request.params.id;
      let change: ConnectionChange | undefined;
      if (changesConnection({ ...input, fromAddress: values.fromAddress })) {
        const stored = await repository.stored(id);
        if (!stored) throw notFound('Mailbox');
        id = stored.id;
        change = await prepareChange(
          fastify,
          repository.organisationId(),
          stored,
          input,
          values.fromAddress ?? stored.fromAddress,
        );
      }
      const row = await repository.update(id, values, change);
      if (!row) throw notFound('Mailbox');
      return row;
    },
  );
  fastify.post(
    '/:id/verify',
    {
      config: MANAGE,
      schema: {
        tags,
        summary: 'Check the mailbox again (SMTP and IMAP login, a message to itself found in its inbox)',
        params: IdParams,
        response: { 202: Mailbox },
      },
    },
    async (request, reply) => {
      const row = await repository.requestVerification(request.params.id);
      if (!row) throw notFound('Mailbox');
      return reply.code(202).send(row);
    },
  );
  fastify.delete(
    '/:id',
    {
      config: { ...MANAGE, problems: { 422: ['mailbox_in_use'] } },
      schema: {
        tags,
        summary: 'Delete a mailbox (refused with 422 while a campaign or message uses it)',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      if (!(await repository.delete(request.params.id))) throw notFound('Mailbox');
      return reply.code(204).send(null);
    },
  );
};

export default mailboxes;
