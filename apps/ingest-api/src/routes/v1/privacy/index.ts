import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import type { AppOptions } from '../../../app.js';
import { created } from '../../../lib/replies.js';
import { MANAGE, OWN } from '../../../lib/role-policy.js';
import { Page, PageQuery } from '../../../lib/schemas.js';
import { type ErasureTarget, eraseSubject } from '../../../privacy/erasure.js';
import { listErasureRequests, listErasures } from '../../../privacy/ledger.js';
import { previewRetention } from '../../../privacy/retention-preview.js';
import { readSettings, writeSettings } from '../../../privacy/settings.js';
import { subjectAccess } from '../../../privacy/subject-access.js';
import {
  Erasure,
  ErasureCreate,
  ErasureLedgerEntry,
  ErasureRequest,
  PrivacySettings,
  PrivacySettingsPatch,
  RetentionPreview,
  SubjectAccess,
  SubjectQuery,
} from './schema.js';

/** Data subjects' rights (GDPR Art. 15, 17, 21) and the organisation's privacy settings; admins only. */
const privacy: FastifyPluginAsyncTypebox<AppOptions> = async (fastify, opts) => {
  const keys = opts.config.subjectKeys;

  fastify.post(
    '/erasures',
    {
      config: { ...MANAGE, problems: { 404: ['erasure_request_not_found', 'person_not_found'] } },
      schema: {
        tags: ['privacy'],
        summary: 'Erase a person everywhere (Art. 17) and suppress their address for good — admin only',
        body: ErasureCreate,
        response: { 201: Erasure },
      },
    },
    async (request, reply) => {
      const { email, personId, requestId } = request.body;
      const target: ErasureTarget = email ? { email } : personId ? { personId } : { requestId: requestId! };
      const result = await fastify.db.tenant((client) => eraseSubject(client, keys, target));
      request.log.info({ erasureId: result.id, removed: result.removed }, 'subject erased');
      return created(reply, `/v1/privacy/erasures/${result.id}`, result);
    },
  );

  fastify.get(
    '/erasures',
    {
      config: MANAGE,
      schema: {
        tags: ['privacy'],
        summary: 'The erasure ledger (counts only, no personal data) — admin only',
        querystring: Type.Object(PageQuery),
        response: { 200: Page(ErasureLedgerEntry) },
      },
    },
    async (request) =>
      await fastify.db.tenant((client) =>
        listErasures<Static<typeof ErasureLedgerEntry>>(client, request.query),
      ),
  );

  fastify.get(
    '/erasure-requests',
    {
      config: MANAGE,
      schema: {
        tags: ['privacy'],
        summary:
          'Erasure requests recipients sent from an email’s page (answer within one month) — admin only',
        querystring: Type.Object({
          ...PageQuery,
          status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('completed')])),
        }),
        response: { 200: Page(ErasureRequest) },
      },
    },
    async (request) =>
      await fastify.db.tenant((client) =>
        listErasureRequests<Static<typeof ErasureRequest>>(client, request.query),
      ),
  );

  fastify.get(
    '/subjects',
    {
      config: MANAGE,
      schema: {
        tags: ['privacy'],
        summary:
          'Everything held about the person with this address (Art. 15), as one JSON document — admin only',
        querystring: SubjectQuery,
        response: { 200: SubjectAccess },
      },
    },
    async (request, reply) => {
      const document = await fastify.db.tenant((client) => subjectAccess(client, keys, request.query.email));
      return reply.header('cache-control', 'no-store').send(document);
    },
  );

  fastify.get(
    '/settings',
    {
      config: MANAGE,
      schema: {
        tags: ['privacy'],
        summary: 'Privacy notice, Art. 14 notice and retention periods of the organisation — admin only',
        response: { 200: PrivacySettings },
      },
    },
    async () => await fastify.db.tenant((client) => readSettings(client)),
  );

  fastify.get(
    '/retention',
    {
      config: MANAGE,
      schema: {
        tags: ['privacy'],
        summary: 'Dry run of the retention task: what each rule would remove now — admin only',
        response: { 200: RetentionPreview },
      },
    },
    async () => await fastify.db.tenant((client) => previewRetention(client)),
  );

  // Organisation settings are the owners' (the role matrix): the retention periods decide what the
  // worker deletes — the CRM's people, the audit trail of admins' own actions.
  fastify.patch(
    '/settings',
    {
      config: OWN,
      schema: {
        tags: ['privacy'],
        summary: 'Change privacy settings (retention periods, notices) — owner only',
        body: PrivacySettingsPatch,
        response: { 200: PrivacySettings },
      },
    },
    async (request) => await fastify.db.tenant((client) => writeSettings(client, request.body)),
  );
};

export default privacy;
