import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { unprocessable } from '../../../lib/problem.js';
import { created } from '../../../lib/replies.js';
import { READ, WRITE } from '../../../lib/role-policy.js';
import { IdParams, Items } from '../../../lib/schemas.js';
import { campaignsRepository } from '../../../repositories/campaigns.js';
import {
  Campaign,
  CampaignCreate,
  CampaignPatch,
  CampaignStats,
  EnrollmentRequest,
  EnrollmentResult,
  EnrollmentStopParams,
  EnrollmentStopped,
} from './schema.js';
import { summariseStats, validateSteps } from './service.js';

const tags = ['outreach'];
/** What `validateSteps` refuses, in the words of the API document. */
const STEPS_REFUSED =
  '422 `invalid_campaign_steps` lists each bad field in `errors`: an unknown template variable, ' +
  'a step with neither body nor variants, repeated variant labels, a first step without a subject.';

/** Campaigns are members' work (an SDR launches their own sequences); anyone reads them. */
const campaigns: FastifyPluginAsyncTypebox = async (fastify) => {
  const repository = campaignsRepository(fastify.db);

  fastify.post(
    '',
    {
      config: { ...WRITE, problems: { 422: ['invalid_campaign_steps', 'invalid_reference'] } },
      schema: {
        tags,
        summary: 'Create a campaign (draft) with ordered steps, A/B variants per step',
        description: STEPS_REFUSED,
        body: CampaignCreate,
        response: { 201: Campaign },
      },
    },
    async (request, reply) => {
      validateSteps(request.body.steps);
      const row = await repository.create(request.body);
      return created(reply, `/v1/campaigns/${row.id}`, row);
    },
  );

  fastify.get(
    '',
    {
      config: READ,
      schema: {
        tags,
        summary: 'List campaigns (newest first)',
        querystring: Type.Object({ status: Type.Optional(Type.String({ maxLength: 20 })) }),
        response: { 200: Items(Campaign) },
      },
    },
    async (request) => ({ items: await repository.list(request.query.status) }),
  );

  fastify.get(
    '/:id',
    {
      config: READ,
      schema: {
        tags,
        summary: 'Get a campaign with its steps and variants',
        params: IdParams,
        response: { 200: Campaign },
      },
    },
    async (request) => await repository.get(request.params.id),
  );

  fastify.patch(
    '/:id',
    {
      config: {
        ...WRITE,
        problems: {
          409: ['campaign_not_draft'],
          422: ['invalid_campaign_steps', 'invalid_reference', 'mailbox_unverified', 'mailbox_in_error'],
        },
      },
      schema: {
        tags,
        summary:
          'Update a campaign; steps can be replaced while it is a draft; an active campaign takes a new mailboxId or additionalMailboxIds only when usable (as for activate)',
        description: STEPS_REFUSED,
        params: IdParams,
        body: CampaignPatch,
        response: { 200: Campaign },
      },
    },
    async (request) => {
      if (request.body.steps) validateSteps(request.body.steps);
      return await repository.update(request.params.id, request.body);
    },
  );

  fastify.delete(
    '/:id',
    {
      config: { ...WRITE, problems: { 409: ['campaign_active'] } },
      schema: {
        tags,
        summary: 'Delete a campaign that is not active (with its enrollments and messages)',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await repository.delete(request.params.id);
      return reply.code(204).send(null);
    },
  );

  fastify.post(
    '/:id/activate',
    {
      config: {
        ...WRITE,
        problems: {
          409: ['campaign_closed'],
          422: ['campaign_has_no_mailbox', 'mailbox_unverified', 'mailbox_in_error'],
        },
      },
      schema: {
        tags,
        summary:
          'Activate: every mailbox of the campaign must be verified, not in error, and (relay) of a proved domain (422 mailbox_unverified, mailbox_in_error); schedules the next step of every active enrollment',
        params: IdParams,
        response: { 200: Campaign },
      },
    },
    async (request) => await repository.activate(request.params.id),
  );

  fastify.post(
    '/:id/pause',
    {
      config: { ...WRITE, problems: { 409: ['campaign_closed'] } },
      schema: {
        tags,
        summary: 'Pause: nothing more is sent until it is activated again',
        params: IdParams,
        response: { 200: Campaign },
      },
    },
    async (request) => await repository.pause(request.params.id),
  );

  fastify.post(
    '/:id/enrollments',
    {
      config: {
        ...WRITE,
        problems: { 409: ['campaign_closed'], 422: ['positions_or_filter', 'too_many_positions'] },
      },
      schema: {
        tags,
        summary:
          'Enroll positions (ids or a filter); skips suppressed, duplicate and enrolled-elsewhere positions and says why',
        params: IdParams,
        body: EnrollmentRequest,
        response: { 200: EnrollmentResult },
      },
    },
    async (request) => {
      if (!request.body.positionIds === !request.body.filter)
        throw unprocessable('positions_or_filter', 'Give either positionIds or filter.');
      return await repository.enroll(request.params.id, request.body);
    },
  );

  fastify.post(
    '/:id/enrollments/:enrollmentId/stop',
    {
      config: WRITE,
      schema: {
        tags,
        summary:
          'Stop one enrollment by hand: its address is suppressed (manual), nothing more is sent to it, its queued tasks are cancelled',
        params: EnrollmentStopParams,
        response: { 200: EnrollmentStopped },
      },
    },
    async (request) => await repository.stopEnrollment(request.params.id, request.params.enrollmentId),
  );

  fastify.get(
    '/:id/stats',
    {
      config: READ,
      schema: {
        tags,
        summary:
          'Results per day and per variant: sent, opened (machine opens apart), replied, bounced, unsubscribed',
        params: IdParams,
        querystring: Type.Object({
          from: Type.Optional(Type.String({ format: 'date' })),
          to: Type.Optional(Type.String({ format: 'date' })),
        }),
        response: { 200: CampaignStats },
      },
    },
    async (request) =>
      summariseStats(await repository.dailyStats(request.params.id, request.query.from, request.query.to)),
  );
};

export default campaigns;
